import {
  CLOSE_CODES,
  closeReason,
  MAX_PRESENCE_BYTES,
  type Principal,
  presenceFor,
  RECORD_MESSAGE,
} from "@databook/wire";
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import * as awarenessProtocol from "y-protocols/awareness";
import * as syncProtocol from "y-protocols/sync";
import * as Y from "yjs";
import { awarenessMessage, type DocManager, MSG, type OpenDoc, type Peer, storageCloseCode } from "./docs.ts";

/** The WebSocket surface a peer needs (the `ws` package's socket satisfies it). */
export type SocketLike = {
  readonly readyState: number;
  send(data: Uint8Array, opts: { binary: true }): void;
  close(code: number, reason: string): void;
  ping(): void;
  terminate(): void;
  on(event: "message", fn: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): unknown;
  on(event: "close", fn: () => void): unknown;
  on(event: "pong", fn: () => void): unknown;
  on(event: "error", fn: (err: Error) => void): unknown;
};

/** Counters the connection reports to (metrics). */
export type ConnectionStats = {
  message(direction: "in" | "out", type: string): void;
  dropped(
    reason:
      | "viewer-update"
      | "archived-update"
      | "bad-frame"
      | "too-large"
      | "presence-too-large"
      | "presence-foreign-client"
      | "presence-rate"
      | "record-from-peer",
  ): void;
  connected(role: "editor" | "viewer", delta: 1 | -1): void;
};

const OPEN = 1;

/** Presence updates a connection may send: a burst of this many… */
const PRESENCE_BURST = 60;
/** …refilled at this rate per second (a cursor moving on every keystroke stays well below). */
const PRESENCE_PER_SECOND = 30;
/** Awareness client ids one connection may control (a y-websocket client has one per doc). */
const MAX_CLIENT_IDS = 4;
/** Messages a peer may send before its notebook has loaded (they are handled once it has). */
const MAX_EARLY_MESSAGES = 64;

/**
 * Serves one y-websocket peer on an accepted socket: once the notebook's doc has loaded (messages
 * sent before wait, at most {@link MAX_EARLY_MESSAGES}; a notebook without a document closes with
 * 4404, a storage failure with 4503 when the database is unavailable and 4500 otherwise:
 * {@link storageCloseCode}), sends sync step 1, the current presence and
 * the record channel's snapshot (runs and the notebook's state, message type 20),
 * answers sync step 1 with step 2, applies editors' updates (the doc manager stores each one before
 * broadcasting it), drops viewers' updates (and editors' while the notebook is archived), relays presence, and cleans up on close.
 * A text frame, an undecodable message or an invalid Yjs update closes this socket with 4400;
 * a frame over `maxFrameBytes` with 4413. Other peers are unaffected.
 *
 * Presence is the server's: the `user` field of every awareness state this peer sends is replaced
 * by the principal's name and colour; a state for a client id another connection controls is
 * dropped; an awareness update over {@link MAX_PRESENCE_BYTES} closes with 4413; past the rate
 * budget, updates are dropped. Returns a handle to close the connection (access changes).
 */
export function servePeer(opts: {
  socket: SocketLike;
  docs: DocManager;
  notebookId: string;
  role: "editor" | "viewer";
  principal: Principal;
  maxFrameBytes: number;
  /** Whether the notebook is archived now (the record channel's state): editors' updates are then dropped. */
  isArchived: () => boolean;
  /**
   * The record channel's snapshot message, sent after the sync has started (once it resolves;
   * record messages sent meanwhile are older than it, so the page ends up with the snapshot's view).
   */
  recordSnapshot: () => Promise<Uint8Array>;
  /** Called once when the connection ends, whoever ends it. */
  onClose?: () => void;
  stats?: ConnectionStats;
  pingIntervalMs?: number;
  /** Called with a server-side failure (the notebook or its record could not be loaded) before closing (4500 or 4503). */
  onServerError?: (err: unknown) => void;
}): { close(code: number, reason: string): void } {
  const { socket, docs, role, stats } = opts;
  let closed = false;
  const presenceUser = presenceFor(opts.principal, role);
  let presenceBudget = PRESENCE_BURST;
  let presenceAt = Date.now();
  const peer: Peer = {
    actor: opts.principal,
    role,
    send(message) {
      if (closed || socket.readyState !== OPEN) return;
      // no per-send callback: a failed write surfaces as the socket's error/close event
      socket.send(message, { binary: true });
      stats?.message("out", "any");
    },
    close(code, reason) {
      if (socket.readyState === OPEN) socket.close(code, reason);
      finish();
    },
  };
  // The doc loads asynchronously: until it has, what the peer sends waits here, in order.
  let o: OpenDoc | undefined;
  const early: Uint8Array[] = [];

  function finish(): void {
    if (closed) return;
    closed = true;
    clearInterval(pinger);
    if (o) {
      const ids = o.peers.get(peer);
      o.peers.delete(peer);
      stats?.connected(role, -1);
      if (ids && ids.size > 0) awarenessProtocol.removeAwarenessStates(o.awareness, [...ids], null);
      docs.release(o);
    }
    opts.onClose?.();
  }

  /**
   * Rewrites one awareness update from this peer: keeps only states of client ids it controls (or
   * may claim), with `user` set to the server's presence for its principal. Undefined when nothing
   * is left to apply.
   */
  function ownPresence(update: Uint8Array): Uint8Array | undefined {
    const mine = o!.peers.get(peer)!;
    const taken = new Set<number>();
    for (const [p, ids] of o!.peers) if (p !== peer) for (const id of ids) taken.add(id);
    const dec = decoding.createDecoder(update);
    const n = decoding.readVarUint(dec);
    const kept: [number, number, string][] = [];
    for (let i = 0; i < n; i++) {
      const clientId = decoding.readVarUint(dec);
      const clock = decoding.readVarUint(dec);
      const json = decoding.readVarString(dec);
      if (taken.has(clientId) || (!mine.has(clientId) && mine.size >= MAX_CLIENT_IDS)) {
        stats?.dropped("presence-foreign-client");
        continue;
      }
      const state = JSON.parse(json) as Record<string, unknown> | null;
      const own = state && typeof state === "object" ? JSON.stringify({ ...state, user: presenceUser }) : "null";
      kept.push([clientId, clock, own]);
    }
    if (!kept.length) return undefined;
    const enc = encoding.createEncoder();
    encoding.writeVarUint(enc, kept.length);
    for (const [id, clock, json] of kept) {
      encoding.writeVarUint(enc, id);
      encoding.writeVarUint(enc, clock);
      encoding.writeVarString(enc, json);
    }
    return encoding.toUint8Array(enc);
  }

  function refuse(code: number, reason: "bad-frame" | "too-large"): void {
    stats?.dropped(reason);
    peer.close(code, closeReason(code) ?? "");
  }

  socket.on("message", (raw, isBinary) => {
    if (closed) return;
    const data = Array.isArray(raw) ? Buffer.concat(raw) : raw instanceof ArrayBuffer ? new Uint8Array(raw) : raw;
    if (data.byteLength > opts.maxFrameBytes) return refuse(CLOSE_CODES.TOO_LARGE, "too-large");
    if (!isBinary) return refuse(CLOSE_CODES.BAD_FRAME, "bad-frame");
    const msg = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (!o) {
      // a client sends a few messages on open (sync step 1, presence); a flood before the load is refused
      if (early.length >= MAX_EARLY_MESSAGES) return refuse(CLOSE_CODES.TOO_LARGE, "too-large");
      early.push(msg);
      return;
    }
    handleSafely(msg);
  });

  function handleSafely(msg: Uint8Array): void {
    try {
      handle(msg, o!);
    } catch {
      refuse(CLOSE_CODES.BAD_FRAME, "bad-frame");
    }
  }
  socket.on("close", finish);
  socket.on("error", finish);

  // Drop peers that stopped answering pings (half-open TCP), as y-websocket's server does.
  let alive = true;
  socket.on("pong", () => (alive = true));
  const pinger = setInterval(() => {
    if (!alive) {
      socket.terminate();
      finish();
      return;
    }
    alive = false;
    try {
      socket.ping();
    } catch {
      finish();
    }
  }, opts.pingIntervalMs ?? 30_000);
  pinger.unref();

  function handle(msg: Uint8Array, o: OpenDoc): void {
    const dec = decoding.createDecoder(msg);
    const type = decoding.readVarUint(dec);
    switch (type) {
      case MSG.sync: {
        const sub = decoding.readVarUint(dec);
        if (sub === syncProtocol.messageYjsSyncStep1) {
          const sv = decoding.readVarUint8Array(dec);
          const enc = encoding.createEncoder();
          encoding.writeVarUint(enc, MSG.sync);
          syncProtocol.writeSyncStep2(enc, o.doc, sv);
          stats?.message("in", "sync-step1");
          // the reply holds the doc as it is now: sent once all of that is stored
          const reply = encoding.toUint8Array(enc);
          docs.whenStored(o, () => peer.send(reply));
          return;
        }
        if (sub === syncProtocol.messageYjsSyncStep2 || sub === syncProtocol.messageYjsUpdate) {
          const update = decoding.readVarUint8Array(dec);
          stats?.message("in", sub === syncProtocol.messageYjsUpdate ? "update" : "sync-step2");
          if (role === "viewer") {
            stats?.dropped("viewer-update");
            return;
          }
          // An archived notebook is a closed incident: editors follow it like viewers until it is
          // unarchived, so its document stays as it was when it was closed.
          if (opts.isArchived()) {
            stats?.dropped("archived-update");
            return;
          }
          // Parse fully first: a malformed update must close the socket, never half-apply.
          Y.decodeUpdate(update);
          Y.applyUpdate(o.doc, update, peer);
          return;
        }
        throw new Error(`unknown sync message ${sub}`);
      }
      case MSG.awareness: {
        stats?.message("in", "awareness");
        const update = decoding.readVarUint8Array(dec);
        if (update.byteLength > MAX_PRESENCE_BYTES) {
          stats?.dropped("presence-too-large");
          peer.close(CLOSE_CODES.TOO_LARGE, closeReason(CLOSE_CODES.TOO_LARGE) ?? "");
          return;
        }
        const t = Date.now();
        presenceBudget = Math.min(PRESENCE_BURST, presenceBudget + ((t - presenceAt) / 1000) * PRESENCE_PER_SECOND);
        presenceAt = t;
        if (presenceBudget < 1) {
          stats?.dropped("presence-rate");
          return;
        }
        presenceBudget -= 1;
        const own = ownPresence(update);
        if (own) awarenessProtocol.applyAwarenessUpdate(o.awareness, own, peer);
        return;
      }
      case MSG.queryAwareness: {
        stats?.message("in", "query-awareness");
        const states = [...o.awareness.getStates().keys()];
        if (states.length) peer.send(awarenessMessage(awarenessProtocol.encodeAwarenessUpdate(o.awareness, states)));
        return;
      }
      case MSG.auth:
        return; // identity comes from the upgrade request's cookie or token; auth messages carry nothing
      case RECORD_MESSAGE:
        // the record channel is the server's alone: whatever a peer sends on it goes nowhere
        stats?.dropped("record-from-peer");
        return;
      default:
        throw new Error(`unknown message type ${type}`);
    }
  }

  /** The doc is loaded: start the sync (our state vector, then everyone's presence), then the record. */
  function start(loaded: OpenDoc): void {
    o = loaded;
    o.peers.set(peer, new Set());
    stats?.connected(role, 1);
    const enc = encoding.createEncoder();
    encoding.writeVarUint(enc, MSG.sync);
    syncProtocol.writeSyncStep1(enc, o.doc);
    peer.send(encoding.toUint8Array(enc));
    const states = [...o.awareness.getStates().keys()];
    if (states.length) peer.send(awarenessMessage(awarenessProtocol.encodeAwarenessUpdate(o.awareness, states)));
    opts.recordSnapshot().then(
      (m) => peer.send(m),
      (err: unknown) => {
        // without its record the page would show no runs: better closed, so it reconnects
        opts.onServerError?.(err);
        const code = storageCloseCode(err);
        peer.close(code, closeReason(code) ?? "");
      },
    );
    for (const msg of early.splice(0)) if (!closed) handleSafely(msg);
  }

  docs.acquire(opts.notebookId).then(
    (loaded) => {
      if (closed)
        docs.release(loaded); // the peer left while the notebook loaded
      else start(loaded);
    },
    (e: unknown) => {
      const notFound = (e as { kind?: string }).kind === "not-found";
      const code = notFound ? CLOSE_CODES.NOT_FOUND : storageCloseCode(e);
      if (!notFound) opts.onServerError?.(e);
      if (socket.readyState === OPEN) socket.close(code, closeReason(code) ?? "");
      finish();
    },
  );
  return { close: (code, reason) => peer.close(code, reason) };
}
