import { type Principal, VISIBILITIES, type Visibility } from "@databook/wire";
import { formatMatchers, type Matcher, matchesAll, parseMatchers } from "../alerts/matchers.ts";
import type { Sql } from "../db/sql.ts";
import type { NewLogEntry } from "../log/store.ts";

/** A runbook mark (docs/incidents.md). Times in ms since epoch. */
export type Runbook = {
  notebookId: string;
  /** Alertmanager matchers as stored ("" serves no alert: the runbook is used from the page only). */
  matcher: string;
  priority: number;
  /** Visibility of incidents made from it; undefined: the server's default. */
  visibility?: Visibility;
  markedAtMs: number;
  updatedAtMs: number;
};

type Row = {
  notebook_id: string;
  matcher: string;
  priority: number;
  visibility: Visibility | null;
  marked_at_ms: number;
  updated_at_ms: number;
};

const toRunbook = (r: Row): Runbook => ({
  notebookId: r.notebook_id,
  matcher: r.matcher,
  priority: r.priority,
  ...(r.visibility ? { visibility: r.visibility } : {}),
  markedAtMs: r.marked_at_ms,
  updatedAtMs: r.updated_at_ms,
});

/** Priorities a runbook may have. */
export const PRIORITY_RANGE = { min: -1000, max: 1000 } as const;

/**
 * The documented order between runbooks whose matchers all match one alert group
 * (docs/incidents.md, "Which runbook"): higher `priority` first; then more matchers first (the
 * more specific one); then the one marked earlier; then by notebook id.
 */
export function runbookOrder(a: Runbook & { matchers: Matcher[] }, b: Runbook & { matchers: Matcher[] }): number {
  return (
    b.priority - a.priority ||
    b.matchers.length - a.matchers.length ||
    a.markedAtMs - b.markedAtMs ||
    (a.notebookId < b.notebookId ? -1 : a.notebookId > b.notebookId ? 1 : 0)
  );
}

/** What a runbook mark's request body may set. */
export type RunbookInput = { matcher?: unknown; priority?: unknown; visibility?: unknown };

/**
 * Runbook marks (`runbooks` table): mark, change, unmark (each logged in the runbook notebook's
 * incident log), and choosing the runbook for an alert group by matchers and the documented order.
 * Errors are `{ kind: "bad-input", message }`.
 */
export function createRunbooks(opts: { sql: Sql; appendLog: (e: NewLogEntry) => unknown; nowMs?: () => number }) {
  const { sql } = opts;
  const now = opts.nowMs ?? Date.now;

  /** The notebook's mark (read on `tx` when given), or undefined when it is no runbook. */
  const get = async (notebookId: string, tx: Sql = sql): Promise<Runbook | undefined> => {
    const r = await tx.get<Row>("SELECT * FROM runbooks WHERE notebook_id = ?", [notebookId]);
    return r && toRunbook(r);
  };

  function check(input: RunbookInput, cur: Runbook | undefined) {
    let matcher = cur?.matcher ?? "";
    if (input.matcher !== undefined) {
      if (typeof input.matcher !== "string") throw { kind: "bad-input", message: "matcher must be a string" };
      matcher = formatMatchers(parseMatchers(input.matcher));
    }
    let priority = cur?.priority ?? 0;
    if (input.priority !== undefined) {
      const p = input.priority;
      if (!Number.isSafeInteger(p) || (p as number) < PRIORITY_RANGE.min || (p as number) > PRIORITY_RANGE.max)
        throw {
          kind: "bad-input",
          message: `priority must be a whole number from ${PRIORITY_RANGE.min} to ${PRIORITY_RANGE.max} (higher wins when several runbooks match)`,
        };
      priority = p as number;
    }
    let visibility = cur?.visibility;
    if (input.visibility !== undefined) {
      if (input.visibility === null) visibility = undefined;
      else if (typeof input.visibility === "string" && (VISIBILITIES as readonly string[]).includes(input.visibility))
        visibility = input.visibility as Visibility;
      else
        throw {
          kind: "bad-input",
          message: `visibility must be one of ${VISIBILITIES.join(", ")}, or null for the default`,
        };
    }
    return { matcher, priority, visibility };
  }

  /** Every runbook of a notebook that is not archived, in the documented order, with its matchers. */
  const list = async (tx: Sql = sql): Promise<(Runbook & { matchers: Matcher[] })[]> =>
    (
      await tx.all<Row>(
        "SELECT r.* FROM runbooks r JOIN notebooks n ON n.id = r.notebook_id WHERE n.archived_at_ms IS NULL",
      )
    )
      .map(toRunbook)
      .flatMap((r) => {
        try {
          return [{ ...r, matchers: parseMatchers(r.matcher) }];
        } catch {
          return []; // stored matchers were checked when written; a row that no longer parses serves nothing
        }
      })
      .sort(runbookOrder);

  return {
    get,
    /**
     * Marks a notebook as a runbook, or changes its mark; logs `runbook.marked` / `runbook.changed`.
     * Returns the mark.
     */
    async mark(notebookId: string, input: RunbookInput, actor: Principal): Promise<Runbook> {
      return sql.transaction(async (tx) => {
        const cur = await get(notebookId, tx);
        const next = check(input, cur);
        const t = now();
        const same =
          cur && cur.matcher === next.matcher && cur.priority === next.priority && cur.visibility === next.visibility;
        if (same) return cur;
        // the log store is still synchronous on the same connection: its append joins this transaction
        if (cur)
          await tx.run(
            "UPDATE runbooks SET matcher = ?, priority = ?, visibility = ?, updated_at_ms = ? WHERE notebook_id = ?",
            [next.matcher, next.priority, next.visibility ?? null, t, notebookId],
          );
        else
          await tx.run(
            "INSERT INTO runbooks (notebook_id, matcher, priority, visibility, marked_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?)",
            [notebookId, next.matcher, next.priority, next.visibility ?? null, t, t],
          );
        const data = { matcher: next.matcher, priority: next.priority, visibility: next.visibility };
        opts.appendLog(
          cur
            ? {
                notebookId,
                type: "runbook.changed",
                atMs: t,
                actor,
                data: { from: { matcher: cur.matcher, priority: cur.priority, visibility: cur.visibility }, to: data },
              }
            : { notebookId, type: "runbook.marked", atMs: t, actor, data },
        );
        return (await get(notebookId, tx))!;
      });
    },
    /** Takes the mark away (logged as `runbook.unmarked`); false when it was not a runbook. */
    unmark(notebookId: string, actor: Principal): Promise<boolean> {
      return sql.transaction(async (tx) => {
        if (!(await tx.run("DELETE FROM runbooks WHERE notebook_id = ?", [notebookId])).changes) return false;
        opts.appendLog({ notebookId, type: "runbook.unmarked", atMs: now(), actor, data: {} });
        return true;
      });
    },
    list,
    /**
     * The runbook for an alert group's common labels: the first, in the documented order, whose
     * matchers all hold and that `usable` allows (the token owner may view it); runbooks without
     * matchers serve no alert. Undefined when none does.
     */
    async choose(
      labels: Record<string, string>,
      usable: (notebookId: string) => Promise<boolean>,
      tx: Sql = sql,
    ): Promise<Runbook | undefined> {
      for (const r of await list(tx))
        if (r.matchers.length > 0 && matchesAll(r.matchers, labels) && (await usable(r.notebookId))) return r;
      return undefined;
    },
  };
}

export type Runbooks = ReturnType<typeof createRunbooks>;
