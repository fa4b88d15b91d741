import type { Principal } from "@databook/wire";
import type { Sql } from "./db/sql.ts";
import { httpError } from "./http-errors.ts";
import { chainLockKey } from "./log/chain.ts";
import type { LogEntry, LogStore, NewLogEntry } from "./log/store.ts";
import { parseCorrection, parseNote, parsePin } from "./timeline-input.ts";

/**
 * What people add to a notebook's timeline (docs/incident-log.md, "Timeline entries"): notes and
 * key events with the time they happened, and corrections and un-pins that name the entry they
 * change. Every one is a new log entry through the log's one append path; nothing is edited in
 * place. The route checks the caller is an editor; this checks the entries they name — reading
 * them and appending in one transaction under the chain's lock, so two people pinning one run at
 * once get one pin and one 409.
 */
export function createTimelineWriter(
  d: {
    sql: Sql;
    log: Pick<LogStore, "entries">;
    /** The log's one append path (app.ts `appendLog`): on `tx`, published once committed. */
    append: (e: NewLogEntry, o: { tx: Sql }) => Promise<LogEntry>;
  },
  now: () => number,
) {
  /** Reads the notebook's entries and appends what `fn` makes of them, under the chain's lock. */
  const appendAfter = (notebookId: string, fn: (entries: LogEntry[]) => NewLogEntry): Promise<LogEntry> =>
    d.sql.transaction(async (tx) => {
      await tx.lock(chainLockKey("log_entries", notebookId));
      const e = fn(await d.log.entries(notebookId, tx));
      return d.append(e, { tx });
    });
  const target = (entries: LogEntry[], seq: number) => {
    const t = entries.find((e) => e.seq === seq);
    if (!t) throw httpError(404, "not-found", `entry ${seq} does not exist in this notebook's log`);
    return { seq: t.seq, hash: t.hash, entry: t };
  };
  const pinOf = (entries: LogEntry[], runId: string) =>
    entries.find(
      (e) =>
        e.type === "timeline.run-pinned" &&
        e.runId === runId &&
        !entries.some(
          (u) => u.type === "timeline.run-unpinned" && (u.data as { target?: { seq?: number } }).target?.seq === e.seq,
        ),
    );

  return {
    /** A note `{ eventAtMs, label, text }`; returns the new entry. */
    addNote(notebookId: string, body: unknown, actor: Principal): Promise<LogEntry> {
      const nowMs = now();
      const data = parseNote(body, nowMs);
      return d.sql.transaction((tx) =>
        d.append({ notebookId, type: "timeline.note-added", atMs: nowMs, actor, data }, { tx }),
      );
    },

    /** Pins run `runId` as a key event `{ runId, label, text?, eventAtMs? }` (409 when it is pinned already). */
    pin(notebookId: string, body: unknown, actor: Principal): Promise<LogEntry> {
      const nowMs = now();
      const p = parsePin(body, nowMs);
      return appendAfter(notebookId, (entries) => {
        const run = entries.find((e) => e.runId === p.runId && (e.type === "run.started" || e.type === "run.finished"));
        if (!run) throw httpError(404, "not-found", `run ${p.runId} is not a run of this notebook`);
        const pinned = pinOf(entries, p.runId);
        if (pinned)
          throw httpError(
            409,
            "bad-input",
            `run ${p.runId} is already a key event (entry ${pinned.seq}); correct that entry instead`,
          );
        return {
          notebookId,
          type: "timeline.run-pinned",
          atMs: nowMs,
          actor,
          cellId: run.cellId ?? undefined,
          runId: p.runId,
          data: { eventAtMs: p.eventAtMs ?? run.atMs, label: p.label, ...(p.text ? { text: p.text } : {}) },
        };
      });
    },

    /** Corrects note or key event `seq` with any of `{ eventAtMs, label, text }`. */
    correct(notebookId: string, seq: number, body: unknown, actor: Principal): Promise<LogEntry> {
      const nowMs = now();
      return appendAfter(notebookId, (entries) => {
        const t = target(entries, seq);
        if (t.entry.type !== "timeline.note-added" && t.entry.type !== "timeline.run-pinned")
          throw httpError(
            409,
            "bad-input",
            `entry ${seq} is a ${t.entry.type} entry; only notes and key events can be corrected (the log itself never changes)`,
          );
        const change = parseCorrection(body, nowMs, { textOptional: t.entry.type === "timeline.run-pinned" });
        return {
          notebookId,
          type: "timeline.entry-corrected",
          atMs: nowMs,
          actor,
          ...(t.entry.runId ? { runId: t.entry.runId } : {}),
          data: { target: { seq: t.seq, hash: t.hash }, ...change },
        };
      });
    },

    /** Un-pins key event `seq` (409 when it is not a key event still pinned). */
    unpin(notebookId: string, seq: number, actor: Principal): Promise<LogEntry> {
      return appendAfter(notebookId, (entries) => {
        const t = target(entries, seq);
        if (t.entry.type !== "timeline.run-pinned")
          throw httpError(409, "bad-input", `entry ${seq} is a ${t.entry.type} entry, not a key event`);
        if (pinOf(entries, t.entry.runId ?? "")?.seq !== seq)
          throw httpError(409, "bad-input", `key event ${seq} was un-pinned already`);
        return {
          notebookId,
          type: "timeline.run-unpinned",
          atMs: now(),
          actor,
          ...(t.entry.runId ? { runId: t.entry.runId } : {}),
          data: { target: { seq: t.seq, hash: t.hash } },
        };
      });
    },
  };
}

/** Run ids pinned as key events (and not un-pinned since), in pin order: the export's "pinned" runs. */
export function pinnedRunIds(entries: LogEntry[]): string[] {
  const unpinned = new Set(
    entries
      .filter((e) => e.type === "timeline.run-unpinned")
      .map((e) => (e.data as { target?: { seq?: number } }).target?.seq),
  );
  return entries
    .filter((e) => e.type === "timeline.run-pinned" && e.runId && !unpinned.has(e.seq))
    .map((e) => e.runId as string);
}
