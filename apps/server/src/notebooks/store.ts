import { parseDuration } from "@databook/cell-syntax";
import {
  META_KEYS,
  type NotebookState,
  orderKeys,
  type Principal,
  type TimeRangeSetting,
  type Visibility,
} from "@databook/wire";
import * as Y from "yjs";
import { type DocManager, storeInitialDoc } from "../collab/docs.ts";
import { cellsOf, cellsSnapshot, isValidTimeRange, MAX_TITLE_CHARS, metaOf, newCell } from "../collab/schema.ts";
import type { Sql, SqlValue } from "../db/sql.ts";
import { randomId } from "../ids.ts";
import type { LogEntry, NewLogEntry } from "../log/store.ts";
import { checkLine } from "../text.ts";

/** A notebook as the REST API returns it (docs/api.md). */
export type NotebookRow = {
  id: string;
  title: string;
  timeRange: TimeRangeSetting;
  archived: boolean;
  visibility: Visibility;
  createdAtMs: number;
  updatedAtMs: number;
  templateId: string | null;
};

/** Thrown (REST 409) when a change is asked of an archived notebook. */
export const ARCHIVED_REFUSAL = {
  run: "this notebook is archived; unarchive it to run cells",
  change: "this notebook is archived; unarchive it to change it",
} as const;

type Row = {
  id: string;
  title: string;
  time_range: string;
  visibility: Visibility;
  template_id: string | null;
  created_at_ms: number;
  updated_at_ms: number;
  archived_at_ms: number | null;
};

const toNotebook = (r: Row): NotebookRow => ({
  id: r.id,
  title: r.title,
  timeRange: JSON.parse(r.time_range) as TimeRangeSetting,
  archived: r.archived_at_ms !== null,
  visibility: r.visibility,
  createdAtMs: r.created_at_ms,
  updatedAtMs: r.updated_at_ms,
  templateId: r.template_id,
});

export { MAX_TITLE_CHARS };

/**
 * Trims a title from a request body; throws `{ kind: "bad-input" }` when it is over
 * {@link MAX_TITLE_CHARS} characters or holds a control or bidirectional formatting character.
 */
function checkTitle(title: string): string {
  try {
    return checkLine(title, "title", MAX_TITLE_CHARS, true);
  } catch (e) {
    const m = (e as { message: string }).message;
    throw { kind: "bad-input", message: m.includes("characters long") ? `${m} (put details in a markdown cell)` : m };
  }
}

/** Who may view a new notebook unless its creator says otherwise: every signed-in account. */
export const DEFAULT_VISIBILITY: Visibility = "signed-in";

/** The default time range of a new notebook: the last hour. */
export const DEFAULT_TIME_RANGE: TimeRangeSetting = { kind: "relative", range: "1h" };

/**
 * Checks a time range from a request body. Returns it, or throws `{ kind: "bad-input" }` saying
 * which shapes are expected (a relative range whose duration does not parse says why).
 */
export function checkTimeRange(x: unknown): TimeRangeSetting {
  if (isValidTimeRange(x)) {
    // only the members of the shape are kept
    if (x.kind === "relative") return { kind: "relative", range: x.range };
    if (x.kind === "since") return { kind: "since", fromMs: x.fromMs };
    return { kind: "absolute", startMs: x.startMs, endMs: x.endMs };
  }
  const t = x as Record<string, unknown> | null;
  if (t && t.kind === "relative" && typeof t.range === "string")
    try {
      parseDuration(t.range, "timeRange.range");
    } catch (e) {
      throw { kind: "bad-input", message: (e as Error).message };
    }
  throw {
    kind: "bad-input",
    message:
      'timeRange must be {"kind":"relative","range":"1h"}, {"kind":"absolute","startMs":…,"endMs":…} with startMs < endMs, or {"kind":"since","fromMs":…} (ms since epoch)',
  };
}

/**
 * Notebook records: creation (optionally from a template), listing, lookup by token, rename and
 * time-range changes (through the Y.Doc, so they are live and mirrored), archiving. Nothing is ever
 * deleted. Each change is logged with its actor.
 */
export function createNotebookStore(opts: {
  sql: Sql;
  log: { append: (e: NewLogEntry, o?: { tx?: Sql }) => Promise<LogEntry> };
  docs: DocManager;
  nowMs?: () => number;
  /** After archiving or unarchiving changed the state (committed and logged already); awaited, must not reject. */
  onArchivedChange?: (notebookId: string, archived: boolean, actor: Principal) => Promise<void>;
}) {
  const { sql, log, docs } = opts;
  const now = opts.nowMs ?? Date.now;

  async function get(id: string, on: Sql = sql): Promise<NotebookRow | undefined> {
    const r = await on.get<Row>("SELECT * FROM notebooks WHERE id = ?", [id]);
    return r && toNotebook(r);
  }

  /**
   * Runs `fn` with the notebook's loaded doc, loading and unloading it around the call (`on`: the
   * caller's transaction, when called inside one). Rejects as {@link DocManager.acquire} does.
   */
  async function withDoc<T>(id: string, fn: (doc: Y.Doc) => T, on?: Sql): Promise<T> {
    const o = await docs.acquire(id, on);
    try {
      return fn(o.doc);
    } finally {
      docs.release(o);
    }
  }

  async function createTx(tx: Sql, nb: NotebookRow, doc: Y.Doc, actor: Principal, ownerId: string | undefined) {
    await tx.run(
      `INSERT INTO notebooks (id, title, time_range, visibility, template_id, created_at_ms, updated_at_ms)
        VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [nb.id, nb.title, JSON.stringify(nb.timeRange), nb.visibility, nb.templateId, nb.createdAtMs, nb.updatedAtMs],
    );
    if (ownerId)
      await tx.run(
        "INSERT INTO notebook_grants (notebook_id, subject_kind, subject_id, role, granted_at_ms) VALUES (?, 'user', ?, 'owner', ?)",
        [nb.id, ownerId, nb.createdAtMs],
      );
    await storeInitialDoc(tx, nb.id, doc);
    await log.append(
      {
        notebookId: nb.id,
        type: "notebook.created",
        atMs: nb.createdAtMs,
        actor,
        data: {
          title: nb.title,
          timeRange: nb.timeRange,
          visibility: nb.visibility,
          templateId: nb.templateId ?? undefined,
          owner: ownerId,
        },
      },
      { tx },
    );
  }

  /** Sets or clears `archived_at_ms` and logs it, in one transaction; false when it was so already. */
  async function setArchived(id: string, archived: boolean, actor: Principal): Promise<NotebookRow> {
    const t = now();
    const changed = await sql.transaction(async (tx) => {
      const r = archived
        ? await tx.run(
            "UPDATE notebooks SET archived_at_ms = ?, updated_at_ms = ? WHERE id = ? AND archived_at_ms IS NULL",
            [t, t, id],
          )
        : await tx.run(
            "UPDATE notebooks SET archived_at_ms = NULL, updated_at_ms = ? WHERE id = ? AND archived_at_ms IS NOT NULL",
            [t, id],
          );
      if (!r.changes) return false;
      const type = archived ? "notebook.archived" : "notebook.unarchived";
      await log.append({ notebookId: id, type, atMs: t, actor, data: {} }, { tx });
      return true;
    });
    if (changed) await opts.onArchivedChange?.(id, archived, actor);
    return (await get(id))!;
  }

  return {
    /** The notebook, or undefined; on `on` (a transaction's handle) when given. */
    get,
    withDoc,
    /**
     * Creates a notebook. With `templateId`, copies that notebook's cells (sources only, never
     * outputs or runs) and, unless given, its time range — or, with `cells` as well, those cells
     * instead (a runbook's, filled in: the template is then only recorded). `ownerId` (an account
     * id) becomes its owner. On `tx` it commits with the caller's writes. Rejects with
     * `{ kind: "not-found" }` for an unknown template and `{ kind: "bad-input" }` for a bad time
     * range or title.
     */
    async create(
      input: {
        title?: string;
        timeRange?: unknown;
        templateId?: string;
        cells?: { id: string; kind: string; source: string }[];
        visibility?: Visibility;
        actor: Principal;
        ownerId?: string;
      },
      tx?: Sql,
    ): Promise<NotebookRow> {
      const template = input.templateId ? await get(input.templateId, tx) : undefined;
      if (input.templateId && !template)
        throw { kind: "not-found", message: `template notebook ${input.templateId} does not exist` };
      const timeRange =
        input.timeRange !== undefined ? checkTimeRange(input.timeRange) : (template?.timeRange ?? DEFAULT_TIME_RANGE);
      const t = now();
      const nb: NotebookRow = {
        id: randomId(),
        title: checkTitle(input.title ?? "") || (template ? `${template.title} (copy)` : "Untitled incident"),
        timeRange,
        archived: false,
        visibility: input.visibility ?? DEFAULT_VISIBILITY,
        createdAtMs: t,
        updatedAtMs: t,
        templateId: template?.id ?? null,
      };
      const cells =
        input.cells ??
        (template ? (await withDoc(template.id, cellsSnapshot, tx)).map((c) => ({ ...c, id: randomId() })) : []);
      const doc = new Y.Doc();
      doc.transact(() => {
        metaOf(doc).set(META_KEYS.title, nb.title);
        metaOf(doc).set(META_KEYS.timeRange, nb.timeRange);
        const keys = orderKeys(cells.length);
        cellsOf(doc).push(cells.map((c, i) => newCell(c.id, c.kind, c.source, keys[i]!)));
      });
      try {
        if (tx) await createTx(tx, nb, doc, input.actor, input.ownerId);
        else await sql.transaction((t) => createTx(t, nb, doc, input.actor, input.ownerId));
      } finally {
        doc.destroy();
      }
      return nb;
    },
    /**
     * The notebooks matching `filter` (an SQL condition on the `notebooks` row aliased `n`, from
     * {@link viewableWhere}), newest change first; archived ones only with `includeArchived`.
     */
    async list(includeArchived: boolean, filter: { sql: string; params: SqlValue[] }): Promise<NotebookRow[]> {
      const q = `SELECT n.* FROM notebooks n WHERE (${filter.sql})${includeArchived ? "" : " AND n.archived_at_ms IS NULL"} ORDER BY n.updated_at_ms DESC`;
      return (await sql.all<Row>(q, filter.params)).map(toNotebook);
    },
    /**
     * Distinct people of a notebook's log (who created, renamed, ran…), in order of appearance, by
     * display name; the server itself and share links are left out.
     */
    async participants(id: string): Promise<string[]> {
      const rows = await sql.all<{ actor: string }>(
        "SELECT actor, min(seq) AS s FROM log_entries WHERE notebook_id = ? AND actor <> 'system' AND coalesce(actor_kind, 'user') IN ('user', 'token', 'cli') GROUP BY actor ORDER BY s",
        [id],
      );
      return rows.map((r) => r.actor);
    },
    /**
     * Sets title and/or time range in the notebook's Y.Doc (live for every peer); the doc
     * manager mirrors them to the database and the server logs the change with `actor`.
     */
    async update(id: string, patch: { title?: unknown; timeRange?: unknown }, actor: Principal): Promise<NotebookRow> {
      let title: string | undefined;
      if (patch.title !== undefined) {
        if (typeof patch.title !== "string" || !patch.title.trim())
          throw { kind: "bad-input", message: "title must be a non-empty string" };
        title = checkTitle(patch.title);
      }
      const timeRange = patch.timeRange !== undefined ? checkTimeRange(patch.timeRange) : undefined;
      const o = await docs.acquire(id);
      try {
        o.doc.transact(
          () => {
            if (title !== undefined) metaOf(o.doc).set(META_KEYS.title, title);
            if (timeRange !== undefined) metaOf(o.doc).set(META_KEYS.timeRange, timeRange);
          },
          { actor },
        );
        // the mirror of title and range is written by the doc's storage queue
        await docs.stored(id);
      } finally {
        docs.release(o);
      }
      return (await get(id))!;
    },
    /**
     * Archives: hides the notebook from the default list, refuses runs and document edits until it
     * is unarchived (nothing is deleted), logs `notebook.archived`; `onArchivedChange` then
     * publishes the state on the record channel (every page sees it at once) and cancels queued
     * runs. Idempotent: archiving an archived notebook logs nothing more.
     */
    archive: (id: string, actor: Principal): Promise<NotebookRow> => setArchived(id, true, actor),
    /**
     * Undoes {@link archive}: back on the default list, runnable and editable; logs
     * `notebook.unarchived`. Idempotent like archive.
     */
    unarchive: (id: string, actor: Principal): Promise<NotebookRow> => setArchived(id, false, actor),
    /** The notebook's state for the record channel, from the database (the source of truth). */
    async stateOf(id: string): Promise<NotebookState> {
      const r = await sql.get<{ archived_at_ms: number | null }>("SELECT archived_at_ms FROM notebooks WHERE id = ?", [
        id,
      ]);
      const at = r?.archived_at_ms ?? null;
      return at === null ? { archived: false } : { archived: true, archivedAtMs: at };
    },
  };
}

export type NotebookStore = ReturnType<typeof createNotebookStore>;
