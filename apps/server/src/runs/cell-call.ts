import { createHash } from "node:crypto";
import { CellSyntaxError, parseCell, resolveTimeRange } from "@databook/cell-syntax";
import type { PluginHost } from "@databook/plugin-host";
import type { DatabookError } from "@databook/wire";
import type * as Y from "yjs";
import type { DocManager } from "../collab/docs.ts";
import { findCell, sourceOf, timeRangeOf } from "../collab/schema.ts";
import { actionOptionsOf } from "../plugin-list.ts";

/** An HTTP-facing failure: `{ kind, message }` plus the status to answer with. */
export type RunRefusal = DatabookError & { status: number };

/**
 * The SHA-256 of a cell's source (its UTF-8 bytes), as 64 lowercase hex digits: what a person
 * confirms before an action runs, and what the run must match (docs/api.md).
 */
export function sourceHash(source: string): string {
  return createHash("sha256").update(source, "utf8").digest("hex");
}

/**
 * A cell as a run would call its plugin: the exact source (and its hash), the parsed query, the
 * resolved absolute time range, and the action options it sets. `failure` is a header or range
 * mistake (the run is then recorded as failed with it).
 */
export type CellCall = {
  source: string;
  sourceHash: string;
  query?: { plugin: string; input: string; options: [string, string][] };
  timeRange?: { startMs: number; endMs: number; stepMs?: number };
  failure?: DatabookError;
  /** Options the cell sets that its plugin's describe() marks as actions. */
  actionOptions: string[];
  /**
   * Whether the cell's plugin is loaded, so `actionOptions` is known: when it is not, nobody can
   * tell whether the cell is an action, and the server must not run it on its own.
   */
  pluginLoaded: boolean;
};

/**
 * What else a reading needs: `windowEndMs`, where an open incident's window ends (a `since`
 * range ends there once the incident is resolved; docs/incidents.md).
 */
export type ReadOptions = { windowEndMs?: number };

/**
 * Reads a cell of an open notebook doc as a run reads it, at `nowMs` (relative ranges resolve
 * against it). The one reading for runs, action previews and completion, so all three call the
 * plugin with the same request.
 * @throws RunRefusal 404 when the doc has no such cell, 400 when the cell is markdown (no `@plugin`).
 */
export function readCellCall(
  doc: Y.Doc,
  notebookId: string,
  cellId: string,
  host: PluginHost | undefined,
  nowMs: number,
  read: ReadOptions = {},
): CellCall {
  const cell = findCell(doc, cellId);
  if (!cell)
    throw {
      status: 404,
      kind: "not-found",
      message: `notebook ${notebookId} has no cell ${cellId}`,
    } satisfies RunRefusal;
  const source = sourceOf(cell);
  const out: CellCall = { source, sourceHash: sourceHash(source), actionOptions: [], pluginLoaded: false };
  let parsed: ReturnType<typeof parseCell>;
  try {
    parsed = parseCell(source);
  } catch (e) {
    if (!(e instanceof CellSyntaxError)) throw e;
    return { ...out, failure: syntaxFailure(e) };
  }
  if (parsed.kind === "markdown")
    throw {
      status: 400,
      kind: "bad-input",
      message: `cell ${cellId} has no @plugin line, so it is markdown and cannot run; start it with a line such as @plugin=prometheus`,
    } satisfies RunRefusal;
  out.query = { plugin: parsed.plugin, input: parsed.input, options: parsed.options };
  const known = actionOptionsOf(
    host,
    parsed.plugin,
    parsed.options.map(([k]) => k),
  );
  out.actionOptions = known ?? [];
  out.pluginLoaded = known !== undefined;
  try {
    const range = resolveTimeRange(
      parsed.reserved,
      timeRangeOf(doc),
      nowMs,
      read.windowEndMs ? { windowEndMs: read.windowEndMs } : {},
    );
    if (range) out.timeRange = range;
  } catch (e) {
    if (!(e instanceof CellSyntaxError)) throw e;
    out.failure = syntaxFailure(e);
  }
  return out;
}

/**
 * {@link readCellCall} on a notebook that need not be open: loads its doc for the read and lets
 * it go (previews and completion hold no doc while the plugin runs).
 */
export async function readNotebookCell(
  docs: DocManager,
  notebookId: string,
  cellId: string,
  host: PluginHost | undefined,
  nowMs: number,
  read: ReadOptions = {},
): Promise<CellCall> {
  const o = await docs.acquire(notebookId);
  try {
    return readCellCall(o.doc, notebookId, cellId, host, nowMs, read);
  } finally {
    docs.release(o);
  }
}

function syntaxFailure(e: CellSyntaxError): DatabookError {
  // most parser messages already start with "line N, column M:"; name the place once
  const located = /\bline \d/.test(e.message);
  const where = e.line && !located ? ` (line ${e.line}${e.column ? `, column ${e.column}` : ""})` : "";
  return { kind: "bad-input", message: `${e.message}${where}` };
}
