/**
 * What the page knows from the record channel (docs/ydoc-schema.md): every run of the notebook and
 * its state, as the server publishes them on the co-editing socket (y-websocket messages of type
 * RECORD_MESSAGE). The page shows a run only from here — never from the co-edited doc, which any
 * editor can write — so it cannot show a run the incident log does not hold.
 */
import {
  type IncidentRecord,
  type NotebookState,
  RECORD_MESSAGE,
  type RecordMessage,
  type RefreshState,
  type ReviewMark,
  type RunRecord,
} from "@databook/wire";
import * as decoding from "lib0/decoding";
import type { WebsocketProvider } from "y-websocket";

export class NotebookRecord {
  /** Every run the server published, by id. */
  runs = $state.raw<ReadonlyMap<string, RunRecord>>(new Map());
  /** The notebook's state (archived…), from the server. */
  state = $state.raw<NotebookState>({ archived: false });
  /** The notebook's incident (status, severity, alerts, window), when it is one (docs/incidents.md). */
  incident = $state.raw<IncidentRecord | undefined>(undefined);
  /** Review marks on runs and log entries, for the postmortem. */
  review = $state.raw<ReviewMark[]>([]);
  /** The server's auto-refresh while it is on (who turned it on, the interval, rounds so far). */
  refresh = $state.raw<RefreshState | undefined>(undefined);
  /** True once the first snapshot arrived (until then, runs are unknown rather than none). */
  received = $state(false);
  /** Bumped on every message: the timeline refetches on it. */
  version = $state(0);

  /** The latest run of each cell (by queue time). */
  latestByCell = $derived.by(() => {
    const out = new Map<string, RunRecord>();
    for (const r of this.runs.values()) {
      const cur = out.get(r.cellId);
      if (!cur || r.queuedAtMs >= cur.queuedAtMs) out.set(r.cellId, r);
    }
    return out;
  });

  /**
   * Applies record-channel messages in order as one change (a snapshot replaces everything, the
   * others merge): the runs map is copied once, so the page re-renders
   * once for a burst (a Run all round sends three messages per cell) instead of once per message.
   */
  applyAll(ms: readonly RecordMessage[]): void {
    let runs: Map<string, RunRecord> | undefined;
    for (const m of ms) {
      if (m.t === "snapshot") {
        runs = new Map(m.runs.map((r) => [r.id, r]));
        this.state = m.state;
        this.incident = m.incident;
        this.review = m.review;
        this.refresh = m.refresh;
        this.received = true;
      } else if (m.t === "run") {
        runs ??= new Map(this.runs);
        const cur = runs.get(m.run.id);
        // a progress message carries no output: keep the body a finished run already delivered
        runs.set(
          m.run.id,
          cur?.output !== undefined && m.run.output === undefined ? { ...m.run, output: cur.output } : m.run,
        );
      } else if (m.t === "state") {
        this.state = m.state;
      } else if (m.t === "incident") {
        this.incident = m.incident;
      } else if (m.t === "review") {
        this.review = m.review;
      } else if (m.t === "refresh") {
        this.refresh = m.refresh;
      }
    }
    if (runs) this.runs = runs;
    if (ms.length > 0) this.version++;
  }

  /** A cell's runs, newest first. */
  runsOf(cellId: string): RunRecord[] {
    return [...this.runs.values()].filter((r) => r.cellId === cellId).sort((a, b) => b.queuedAtMs - a.queuedAtMs);
  }

  /**
   * Listens on `provider`'s socket for record-channel messages. A message that does not parse is
   * reported to `onBad` and dropped (the next snapshot, at the latest on reconnect, brings the truth).
   */
  attach(provider: WebsocketProvider, onBad: (reason: string) => void): void {
    // Messages are read as they arrive and applied together once per frame (or after 100 ms in a
    // background tab, where frames stop): a busy page handles a burst in one render.
    let pending: RecordMessage[] = [];
    let frame = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      if (frame) cancelAnimationFrame(frame);
      clearTimeout(timer);
      frame = 0;
      timer = undefined;
      const batch = pending;
      pending = [];
      this.applyAll(batch);
    };
    (provider as unknown as { messageHandlers: unknown[] }).messageHandlers[RECORD_MESSAGE] = (
      _encoder: unknown,
      decoder: decoding.Decoder,
    ) => {
      let m: RecordMessage;
      try {
        m = JSON.parse(decoding.readVarString(decoder)) as RecordMessage;
      } catch (e) {
        onBad(`a record message could not be read: ${(e as Error).message}`);
        return;
      }
      pending.push(m);
      // the snapshot decides what the page may do (archived, the runs it shows): at once
      if (m.t === "snapshot") return flush();
      if (timer !== undefined) return;
      frame = typeof requestAnimationFrame === "function" ? requestAnimationFrame(flush) : 0;
      timer = setTimeout(flush, 100);
    };
  }
}
