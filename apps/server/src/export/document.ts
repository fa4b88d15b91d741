import { type BundleOutput, buildBundle, isDatabookError, type ProofBundle } from "@databook/tlog";
import type { Database } from "better-sqlite3";
import { readStoredDoc } from "../collab/docs.ts";
import { cellsSnapshot } from "../collab/schema.ts";
import { canonicalEntry } from "../log/canonical.ts";
import type { StoredCheckpoint } from "../log/checkpoints.ts";
import type { LogEntry, LogStore } from "../log/store.ts";
import { leavesOf } from "../log/tree.ts";
import { runsFromLog } from "../record/from-log.ts";
import { pinnedRunIds as pinnedRunIdsOf } from "../timeline-write.ts";

/**
 * The postmortem export's source (docs/incident-log.md, "Exports"): the proof bundle of the
 * notebook's whole log up to a fresh checkpoint, with the bodies of the runs chosen, plus what the
 * log does not hold (the cells as the document has them). The HTML export embeds it; the Markdown
 * export ships it beside as `<file>.proof.json`. Both files are a pure function of it
 * (`renderExport`), which is how `databook log verify --export` checks what a file shows.
 */
export type ExportDocument = {
  format: typeof EXPORT_FORMAT;
  /** When it was made (ms since the epoch): shown, and the charts' "now". */
  exportedAtMs: number;
  /** Which runs of each cell are shown: see {@link parseRunsChoice}. */
  runs: RunsChoice;
  /** Runs pinned as key events (and not un-pinned) in the entries the export covers. */
  pinnedRunIds: string[];
  /** Not in the log, so not proved: the notebook's cells in display order, as its document holds them. */
  cells: ExportCell[];
  bundle: ProofBundle;
};

/** One cell as the document held it at export time. */
export type ExportCell = { id: string; kind: string; source: string };

/** The `format` member of every export document. */
export const EXPORT_FORMAT = "databook-postmortem/1";

/** Which runs of a cell an export shows: the pinned ones and/or the latest, or every run. */
export type RunsChoice = "pinned,last" | "pinned" | "last" | "all";

/** The default choice: the pinned runs and each cell's latest run. */
export const DEFAULT_RUNS: RunsChoice = "pinned,last";

/**
 * Reads a `--runs` / `?runs=` value: `pinned`, `last` (comma-separated, in any order) or `all`.
 * Undefined or empty gives {@link DEFAULT_RUNS}. Throws `{ kind: "bad-input" }` for anything else.
 */
export function parseRunsChoice(value: unknown): RunsChoice {
  if (value === undefined || value === "") return DEFAULT_RUNS;
  const parts = typeof value === "string" ? [...new Set(value.split(",").map((p) => p.trim()))] : [];
  if (parts.length === 1 && parts[0] === "all") return "all";
  if (parts.length > 0 && parts.every((p) => p === "pinned" || p === "last")) {
    return parts.length === 2 ? "pinned,last" : (parts[0] as "pinned" | "last");
  }
  throw {
    kind: "bad-input",
    message: `runs must be pinned,last (the default), pinned, last or all, not ${JSON.stringify(value)}`,
  };
}

/**
 * The run ids a choice shows, from the entries: each cell's latest run (by queue order) for
 * `last`, the pinned ones for `pinned`, every run for `all`.
 */
export function chosenRuns(entries: LogEntry[], runs: RunsChoice, pinnedRunIds: readonly string[]): Set<string> {
  const all = [...runsFromLog(entries).values()];
  if (runs === "all") return new Set(all.map((r) => r.id));
  const out = new Set<string>();
  if (runs !== "last") for (const id of pinnedRunIds) if (all.some((r) => r.id === id)) out.add(id);
  if (runs !== "pinned") {
    const latest = new Map<string, string>();
    for (const r of all) latest.set(r.cellId, r.id); // runsFromLog is in queue order
    for (const id of latest.values()) out.add(id);
  }
  return out;
}

/** What {@link buildExportDocument} reads. */
export type ExportSources = {
  db: Database;
  log: Pick<LogStore, "entries" | "getBlob">;
  /** The notebook's checkpoint covering every entry it has now (signed now when needed), or the newest stored one. */
  checkpoint: (notebookId: string) => Promise<StoredCheckpoint | undefined>;
  /** Verifier key text of the key(s) that sign, written into the bundle for readers to see. */
  verifierKeys: readonly string[];
  /** Resolves once every edit the server has taken for the notebook is stored (the doc is read from `db`). */
  stored?: (notebookId: string) => Promise<void>;
};

/**
 * Builds the export document of notebook `notebookId` against its checkpoint: every entry the
 * checkpoint covers, with inclusion proofs, and every output they reference (bodies of the chosen
 * runs only). Undefined when the notebook has no entries. Throws `{ kind: "internal" }` when the
 * log no longer matches its signed checkpoint (the database was changed: `databook log verify`
 * says where), and `{ kind: "bad-input" }` for a bad `runs`.
 */
export async function buildExportDocument(
  src: ExportSources,
  notebookId: string,
  opts: { runs?: RunsChoice; nowMs: number },
): Promise<ExportDocument | undefined> {
  const cp = await src.checkpoint(notebookId);
  if (!cp) return undefined;
  const runs = opts.runs ?? DEFAULT_RUNS;
  const entries = src.log.entries(notebookId).slice(0, cp.size);
  const pinnedRunIds = pinnedRunIdsOf(entries);
  const shown = chosenRuns(entries, runs, pinnedRunIds);
  const outputs = new Map<string, BundleOutput>();
  for (const e of entries) {
    const { outputHash, contentType } = e.data as { outputHash?: unknown; contentType?: unknown };
    if (typeof outputHash !== "string" || typeof contentType !== "string") continue;
    const key = `${outputHash} ${contentType}`;
    const withBody = e.runId !== null && shown.has(e.runId);
    if (outputs.get(key)?.body !== undefined) continue;
    const body = withBody ? src.log.getBlob(outputHash, contentType)?.body : undefined;
    outputs.set(key, { sha256: outputHash, contentType, ...(body === undefined ? {} : { body }) });
  }
  const doc = readStoredDoc(src.db, notebookId);
  const cells = doc ? cellsSnapshot(doc).map((c) => ({ id: c.id, kind: c.kind, source: c.source })) : [];
  doc?.destroy();
  let bundle: ProofBundle;
  try {
    bundle = buildBundle({
      notebookId,
      checkpoint: cp.note,
      verifierKeys: src.verifierKeys,
      leaves: leavesOf(entries),
      entries: entries.map((e) => ({ seq: e.seq, canonical: canonicalEntry(e) })),
      outputs: [...outputs.values()],
    });
  } catch (e) {
    if (!isDatabookError(e)) throw e;
    throw {
      kind: "internal",
      message: `notebook ${notebookId}'s log no longer matches its signed checkpoint (${e.message}); run databook log verify --notebook ${notebookId}`,
    };
  }
  return { format: EXPORT_FORMAT, exportedAtMs: opts.nowMs, runs, pinnedRunIds, cells, bundle };
}
