/**
 * A raw y-websocket peer (no page) signed in as a test user: what a hostile editor scripts
 * against the notebook document. It speaks the same protocol version as the page, so the server
 * takes it for a tab; everything it writes goes through the server's checks like a page's edits.
 */
import { orderBetween, PROTOCOL_VERSION, RECORD_MESSAGE } from "@databook/wire";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { serverUrl, statePath } from "./notebook.ts";
import { sessionCookieFrom } from "./sign-in.ts";
import type { UserKey } from "./users.ts";

/** A connected peer: its doc, a promise of the first sync, and `destroy`. */
export type Peer = { doc: Y.Doc; provider: WebsocketProvider; synced: Promise<void>; destroy: () => void };

/** Connects to notebook `notebookId` as `who` (a user with a saved session). */
export function rawPeer(who: UserKey, notebookId: string): Peer {
  const origin = serverUrl();
  const cookie = sessionCookieFrom(statePath(who));
  class SignedInSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols, { headers: { cookie, origin } });
    }
  }
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(`${origin.replace(/^http/, "ws")}/ws/notebooks`, notebookId, doc, {
    WebSocketPolyfill: SignedInSocket as never,
    params: { v: String(PROTOCOL_VERSION) },
    disableBc: true,
  });
  // the peer reads nothing of the record channel (the pages under test do); without a handler
  // y-websocket logs every record message as one it cannot compute
  (provider as unknown as { messageHandlers: unknown[] }).messageHandlers[RECORD_MESSAGE] = () => {};
  const synced = new Promise<void>((resolve) => {
    if (provider.synced) resolve();
    provider.on("sync", (s: boolean) => s && resolve());
  });
  return {
    doc,
    provider,
    synced,
    destroy: () => {
      provider.destroy();
      doc.destroy();
    },
  };
}

/** Adds a cell at the end of `doc` the way the page does (id, kind, source, order key). */
export function addCellTo(doc: Y.Doc, id: string, source: string, kind: "query" | "markdown" = "query"): void {
  const cells = doc.getArray<Y.Map<unknown>>("cells");
  const keys = cells
    .toArray()
    .map((c) => (c instanceof Y.Map ? c.get("order") : undefined))
    .filter((k): k is string => typeof k === "string")
    .sort();
  const m = new Y.Map<unknown>();
  m.set("id", id);
  m.set("kind", kind);
  m.set("source", new Y.Text(source));
  m.set("order", orderBetween(keys.at(-1), undefined));
  cells.push([m]);
}
