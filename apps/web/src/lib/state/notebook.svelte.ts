/**
 * One open notebook: the co-edited Y.Doc (schema in docs/ydoc-schema.md), the record channel on
 * the same y-websocket connection (runs and the notebook's state, written only by the server), and
 * runes state the components read (cells in order, title, time range, runs, connection, who is here).
 *
 * The Y.Doc holds what editors change; the runes fields are mirrors refreshed by Yjs observers, so
 * a remote edit and a local edit reach the page the same way. Runs come only from the record
 * channel (NotebookRecord), never from the doc, which any editor can write.
 */
import {
  CELL_KEYS,
  type CellKind,
  CLOSE_CODES,
  closeReason,
  compareCells,
  isPermanentClose,
  META_KEYS,
  type NotebookRole,
  orderBetween,
  PROTOCOL_VERSION,
  type PresenceUser,
  type RunRecord,
  type TimeRangeSetting,
  YDOC,
} from "@databook/wire";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { newCellId, parseSource } from "./cell-parse.ts";
import { adoptingWebSocket } from "./early-start.ts";
import { NotebookRecord } from "./record.svelte.ts";

export { type CellParse, newCellId, parseSource } from "./cell-parse.ts";

/**
 * One cell: mirrors its Y.Map (`order`) and Y.Text (`source`); its runs come from the notebook's
 * record. Call destroy() when it leaves the doc.
 */
export class CellState {
  readonly id: string;
  readonly map: Y.Map<unknown>;
  readonly text: Y.Text;
  /** The kind the cell was added as (a UI hint only: the header decides, see ydoc-schema.md). */
  readonly kindHint: CellKind | undefined;
  source = $state("");
  /** The fractional-index key the cells are sorted by. */
  order = $state<string | undefined>(undefined);
  parsed = $derived(parseSource(this.source));
  readonly #record: NotebookRecord;
  /** The cell's latest run, from the record channel. */
  run = $derived.by((): RunRecord | undefined => this.#record.latestByCell.get(this.id));
  /** True when the cell's source differs from what its latest run ran ("query edited since this run"). */
  edited = $derived(this.run?.source !== undefined && this.run.source !== this.source);
  #onText = () => {
    this.source = this.text.toString();
  };
  #onMap = (e: Y.YMapEvent<unknown>) => {
    if (e.keysChanged.has(CELL_KEYS.order)) this.order = orderOf(this.map);
  };

  constructor(map: Y.Map<unknown>, text: Y.Text, record: NotebookRecord) {
    this.map = map;
    this.text = text;
    this.#record = record;
    this.id = String(map.get(CELL_KEYS.id));
    const kind = map.get(CELL_KEYS.kind);
    this.kindHint = kind === "query" || kind === "markdown" ? kind : undefined;
    this.source = text.toString();
    this.order = orderOf(map);
    text.observe(this.#onText);
    map.observe(this.#onMap);
  }

  destroy(): void {
    this.text.unobserve(this.#onText);
    this.map.unobserve(this.#onMap);
  }
}

const orderOf = (m: Y.Map<unknown>): string | undefined => {
  const o = m.get(CELL_KEYS.order);
  return typeof o === "string" ? o : undefined;
};

export type ConnectionStatus = "connecting" | "online" | "offline" | "closed";

/** Someone in the notebook, from y-websocket awareness. */
export type Peer = { clientId: number; name: string; color: string; role: string; self: boolean };

/**
 * What the session needs to start. `wsUrl` is the y-websocket base, e.g. ws://host/ws/notebooks;
 * the session cookie says who connects (no token, no name in the URL). `role` is the caller's
 * role from `GET /api/notebooks/:id`; `user` the presence the server will stamp (shown for self).
 * `onReconnect` is called each time the socket connects again (after the server closed it with
 * RIGHTS_CHANGED because this person's role changed, or after a network drop during which it may
 * have changed): fetch the role again and call `setRole`. Asking after the new socket is up means
 * the answer is the role that socket was opened with; a later change closes it again.
 */
export type SessionOptions = {
  id: string;
  role: NotebookRole;
  user?: PresenceUser;
  wsUrl: string;
  onReconnect?: () => void;
};

/** Handle an editor registers so the page can move focus between cells. */
export type EditorHandle = { focus: () => void; hasFocus: () => boolean };

export class NotebookSession {
  readonly id: string;
  /** This person's role on the notebook; changes live when an owner changes it (see setRole). */
  role = $state<NotebookRole>("viewer");
  readonly doc = new Y.Doc();
  readonly provider: WebsocketProvider;
  readonly undoOrigin = {};
  /** Runs and the notebook's state, from the record channel. */
  readonly record = new NotebookRecord();
  /** The cells in display order (by order key, then id). */
  cells = $state.raw<CellState[]>([]);
  title = $state("");
  timeRange = $state.raw<TimeRangeSetting | undefined>(undefined);
  /**
   * Whether the notebook is archived (a closed incident), live from the record channel (the
   * server's state, docs/ydoc-schema.md); while true the server drops everyone's edits.
   */
  archived = $derived(this.record.state.archived);
  /** When it was archived, ms since epoch; undefined when not archived. */
  archivedAtMs = $derived(this.record.state.archived ? this.record.state.archivedAtMs : undefined);
  /** A record message the page could not read (shown; the next snapshot brings the truth). */
  recordProblem = $state<string | undefined>(undefined);
  status = $state<ConnectionStatus>("connecting");
  synced = $state(false);
  closedReason = $state<string | undefined>(undefined);
  /** The close code that ended the connection for good (a final code from CLOSE_CODES). */
  closedCode = $state<number | undefined>(undefined);
  /**
   * The server closed the connection because it could not load or store the notebook
   * (STORAGE_UNAVAILABLE: its database is down; SERVER_ERROR: anything else): what is typed is
   * not saved until the page has reconnected and synced, which clears it. Leaving the page
   * meanwhile asks first.
   */
  storageProblem = $state<typeof CLOSE_CODES.STORAGE_UNAVAILABLE | typeof CLOSE_CODES.SERVER_ERROR | undefined>(
    undefined,
  );
  peers = $state.raw<Peer[]>([]);
  /** Bumped whenever a run or the notebook's metadata changes: the timeline refetches on it. */
  logVersion = $state(0);
  /** Editors by cell id (not reactive: only used to move focus). */
  readonly editors = new Map<string, EditorHandle>();
  /** A cell whose editor should take focus as soon as it mounts (it was off screen). */
  pendingFocus: string | undefined;
  #byMap = new Map<Y.Map<unknown>, CellState>();
  #cells: Y.Array<Y.Map<unknown>>;
  #meta: Y.Map<unknown>;
  #cleanup: (() => void)[] = [];

  constructor(opts: SessionOptions) {
    this.id = opts.id;
    this.role = opts.role;
    this.#cells = this.doc.getArray<Y.Map<unknown>>(YDOC.cells);
    this.#meta = this.doc.getMap<unknown>(YDOC.meta);

    const onCells = (events: Y.YEvent<Y.AbstractType<unknown>>[]) => {
      // a new or removed cell, or a moved one (its order key changed)
      if (
        events.some((e) => e.target === this.#cells || (e instanceof Y.YMapEvent && e.keysChanged.has(CELL_KEYS.order)))
      )
        this.#rebuildCells();
    };
    this.#cells.observeDeep(onCells);
    const onMeta = () => {
      this.title = String(this.#meta.get(META_KEYS.title) ?? "");
      this.timeRange = this.#meta.get(META_KEYS.timeRange) as TimeRangeSetting | undefined;
      this.logVersion++;
    };
    this.#meta.observe(onMeta);
    this.#cleanup.push(
      () => this.#cells.unobserveDeep(onCells),
      () => this.#meta.unobserve(onMeta),
    );

    this.provider = new WebsocketProvider(opts.wsUrl, opts.id, this.doc, {
      params: { v: String(PROTOCOL_VERSION) },
      // the first connection takes over the socket app.html's script opened during page load
      WebSocketPolyfill: adoptingWebSocket(opts.id),
      maxBackoffTime: 2000,
      // 4401/4403/4404/4426 cannot get better by retrying; everything else (drops, 4205, 4500) reconnects.
      shouldReconnect: (event: CloseEvent) => !isPermanentClose(event.code),
    } as ConstructorParameters<typeof WebsocketProvider>[3]);
    this.record.attach(this.provider, (reason) => (this.recordProblem = reason));
    if (opts.user) this.setUser(opts.user);

    let connectedBefore = false;
    this.provider.on("status", ({ status }: { status: string }) => {
      if (this.status === "closed") return;
      this.status = status === "connected" ? "online" : status === "connecting" ? "connecting" : "offline";
      if (status === "connected") {
        performance.mark("databook:ws-open");
        if (connectedBefore) opts.onReconnect?.();
        connectedBefore = true;
      }
      if (status !== "connected") this.synced = false;
    });
    this.provider.on("sync", (isSynced: boolean) => {
      // Marks for the page-load benchmark (bench/web): visible in the browser's performance timeline.
      if (isSynced && !this.synced) performance.mark("databook:synced");
      this.synced = isSynced;
      // synced: the server holds everything this page has (the sync sent it what it lacked)
      if (isSynced) this.storageProblem = undefined;
    });
    this.provider.on("connection-close", (event: CloseEvent | null) => {
      if (event && isPermanentClose(event.code)) {
        this.status = "closed";
        this.closedCode = event.code;
        this.closedReason = closeReason(event.code) ?? `closed with code ${event.code}`;
      }
      if (event?.code === CLOSE_CODES.STORAGE_UNAVAILABLE || event?.code === CLOSE_CODES.SERVER_ERROR)
        this.storageProblem = event.code;
    });
    // what the server could not store lives only in this page until it reconnects: ask before leaving
    const beforeUnload = (e: BeforeUnloadEvent) => {
      if (this.storageProblem !== undefined && this.status !== "closed") e.preventDefault();
    };
    window.addEventListener("beforeunload", beforeUnload);
    this.#cleanup.push(() => window.removeEventListener("beforeunload", beforeUnload));
    const awareness = this.provider.awareness;
    const onAwareness = () => this.#rebuildPeers();
    awareness.on("change", onAwareness);
    this.#cleanup.push(() => awareness.off("change", onAwareness));
    this.#rebuildPeers();

    // A dropped network rarely closes an open socket promptly; follow the browser's own signal.
    const goOffline = () => {
      if (this.status === "closed") return;
      this.status = "offline";
      this.synced = false;
      this.provider.disconnect();
    };
    const goOnline = () => {
      if (this.status === "closed") return;
      this.provider.connect();
    };
    window.addEventListener("offline", goOffline);
    window.addEventListener("online", goOnline);
    this.#cleanup.push(
      () => window.removeEventListener("offline", goOffline),
      () => window.removeEventListener("online", goOnline),
    );
    this.#rebuildCells();
    onMeta();
  }

  /** Whether this page may change the notebook: an editor or owner, not archived, still connected for good. */
  get canEdit(): boolean {
    return this.role !== "viewer" && !this.archived && this.status !== "closed";
  }

  /** Whether this person is an editor or owner (they may archive, unarchive and share). */
  get isEditor(): boolean {
    return this.role !== "viewer";
  }

  /** Takes a new role (after RIGHTS_CHANGED). */
  setRole(role: NotebookRole): void {
    this.role = role;
  }

  /**
   * Sets this person's presence in the local awareness state. The server replaces the `user` of
   * every state a peer sends with its own stamp (the same `presenceFor`), so this only decides how
   * the person sees themselves.
   */
  setUser(user: PresenceUser): void {
    this.provider.awareness.setLocalStateField("user", user);
  }

  #rebuildCells(): void {
    const next: CellState[] = [];
    const seen = new Set<Y.Map<unknown>>();
    for (const map of this.#cells.toArray()) {
      if (!(map instanceof Y.Map)) continue;
      const text = map.get(CELL_KEYS.source);
      if (!(text instanceof Y.Text)) continue;
      let cell = this.#byMap.get(map);
      if (!cell) {
        cell = new CellState(map, text, this.record);
        this.#byMap.set(map, cell);
      }
      seen.add(map);
      next.push(cell);
    }
    for (const [map, cell] of this.#byMap) {
      if (!seen.has(map)) {
        cell.destroy();
        this.#byMap.delete(map);
      }
    }
    this.cells = next.sort((a, b) =>
      compareCells({ id: a.id, order: orderOf(a.map) }, { id: b.id, order: orderOf(b.map) }),
    );
  }

  #rebuildPeers(): void {
    const self = this.doc.clientID;
    const peers: Peer[] = [];
    for (const [clientId, state] of this.provider.awareness.getStates()) {
      const user = (state as { user?: { name?: unknown; color?: unknown; role?: unknown } }).user;
      if (!user || typeof user.name !== "string") continue;
      peers.push({
        clientId,
        name: user.name,
        color: typeof user.color === "string" ? user.color : "#888",
        role: typeof user.role === "string" ? user.role : "editor",
        self: clientId === self,
      });
    }
    peers.sort((a, b) => Number(b.self) - Number(a.self) || a.name.localeCompare(b.name));
    this.peers = peers;
  }

  /**
   * Inserts a new cell at display position `index` (clamped): its order key sorts between its
   * neighbours' (docs/ydoc-schema.md). Returns its id.
   */
  addCell(kind: CellKind, index: number, source = ""): string {
    const id = newCellId();
    const at = Math.max(0, Math.min(index, this.cells.length));
    const map = new Y.Map<unknown>();
    map.set(CELL_KEYS.id, id);
    map.set(CELL_KEYS.kind, kind);
    map.set(CELL_KEYS.source, new Y.Text(source));
    map.set(CELL_KEYS.order, orderBetween(this.cells[at - 1]?.order, this.cells[at]?.order));
    this.doc.transact(() => this.#cells.push([map]), this.undoOrigin);
    return id;
  }

  indexOf(id: string): number {
    return this.cells.findIndex((c) => c.id === id);
  }

  /**
   * Moves a cell by `delta` places: one field change, its order key set between its new
   * neighbours', so the cell is never re-created and an edit someone makes in it meanwhile is kept.
   */
  moveCell(id: string, delta: number): void {
    const from = this.indexOf(id);
    const to = from + delta;
    const cell = this.cells[from];
    if (!cell || to < 0 || to >= this.cells.length) return;
    const others = this.cells.filter((c) => c !== cell);
    const key = orderBetween(others[to - 1]?.order, others[to]?.order);
    this.doc.transact(() => cell.map.set(CELL_KEYS.order, key), this.undoOrigin);
  }

  deleteCell(id: string): void {
    const at = this.#cells.toArray().findIndex((m) => m instanceof Y.Map && m.get(CELL_KEYS.id) === id);
    if (at >= 0) this.doc.transact(() => this.#cells.delete(at, 1), this.undoOrigin);
  }

  setTitle(title: string): void {
    if (title !== this.title) this.#meta.set(META_KEYS.title, title);
  }

  setTimeRange(range: TimeRangeSetting): void {
    this.#meta.set(META_KEYS.timeRange, range);
  }

  /** Moves keyboard focus to the cell after `id`; returns false when it was the last one. */
  focusAfter(id: string): boolean {
    const i = this.indexOf(id);
    const next = this.cells[i + 1];
    if (!next) return false;
    const editor = this.editors.get(next.id);
    if (editor) editor.focus();
    else this.pendingFocus = next.id;
    document.getElementById(`cell-${next.id}`)?.scrollIntoView({ block: "nearest" });
    return true;
  }

  destroy(): void {
    for (const fn of this.#cleanup) fn();
    for (const cell of this.#byMap.values()) cell.destroy();
    this.#byMap.clear();
    this.provider.destroy();
    this.doc.destroy();
  }
}
