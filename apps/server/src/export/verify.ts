import { isDatabookError, type VerifierKey, verifyBundle } from "@databook/tlog";
import { EXPORT_FORMAT, type ExportDocument, parseRunsChoice } from "./document.ts";
import { PROOF_ELEMENT_ID } from "./html.ts";
import { regionAt } from "./regions.ts";
import { type ExportFormat, renderExport } from "./render.ts";

/** The outcome of {@link verifyExport}. `what` names the failing part ("entry seq 12 (run …)", "checkpoint", …). */
export type ExportCheck =
  | {
      ok: true;
      format: ExportFormat;
      notebookId: string;
      origin: string;
      treeSize: number;
      rootHash: string;
      signedBy: readonly string[];
      outputs: number;
      consistentWith: readonly number[];
    }
  | { ok: false; what: string; message: string };

/** What {@link verifyExport} checks. */
export type ExportCheckInput = {
  /** The export file's text. */
  text: string;
  /** Default: HTML when the text starts with `<!doctype html`, else Markdown. */
  format?: ExportFormat;
  /** The Markdown export's proof file (`<file>.proof.json`); HTML carries its own. */
  proof?: string;
  /** The trusted public key(s): verifier key text or parsed. Never taken from the export. */
  keys: readonly (VerifierKey | string)[];
  /** Checkpoint notes the reader kept from earlier: the export's log must extend each. */
  olderCheckpoints?: readonly string[];
};

const PROOF_RE = new RegExp(`<script type="application/json" id="${PROOF_ELEMENT_ID}">([^<]*)</script>`);

const fail = (what: string, message: string): ExportCheck => ({ ok: false, what, message: `${what}: ${message}` });

function readDocument(raw: string, where: string): ExportDocument | string {
  let d: unknown;
  try {
    d = JSON.parse(raw);
  } catch {
    return `${where} is not JSON`;
  }
  const o = (d ?? {}) as Record<string, unknown>;
  if (o.format !== EXPORT_FORMAT)
    return `${where} is not a ${EXPORT_FORMAT} document (format ${JSON.stringify(o.format)})`;
  if (!Number.isSafeInteger(o.exportedAtMs)) return `${where} has no exportedAtMs`;
  try {
    if (parseRunsChoice(o.runs) !== o.runs) return `${where} has runs ${JSON.stringify(o.runs)}`;
  } catch {
    return `${where} has runs ${JSON.stringify(o.runs)}`;
  }
  if (!Array.isArray(o.pinnedRunIds) || !o.pinnedRunIds.every((x) => typeof x === "string"))
    return `${where} has no pinnedRunIds list`;
  const cellOk = (c: unknown) =>
    typeof c === "object" &&
    c !== null &&
    ["id", "kind", "source"].every((k) => typeof (c as Record<string, unknown>)[k] === "string");
  if (!Array.isArray(o.cells) || !o.cells.every(cellOk)) return `${where} has no cells list of { id, kind, source }`;
  if (typeof o.bundle !== "object" || o.bundle === null) return `${where} has no proof bundle`;
  return d as ExportDocument;
}

/** Line (1-based) of character `at`, and a short quote of the text from there. */
function around(text: string, at: number): { line: number; quote: string } {
  const line = text.slice(0, at).split("\n").length;
  return { line, quote: JSON.stringify(text.slice(at, at + 48)) };
}

/**
 * Checks an exported postmortem with no database and no server (docs/incident-log.md, "Verifying
 * an export offline"): (1) its proof bundle verifies against `keys` (the checkpoint's signature,
 * every entry's inclusion proof, every output's hash and content type — `verifyBundle`), and the
 * log extends each of `olderCheckpoints`; (2) the bundle holds the whole log up to its checkpoint,
 * so no entry was left out; (3) rendering the embedded document again gives exactly the file —
 * otherwise the first difference is reported with the entry (or part) it falls in. Never throws
 * for a bad export; throws only when the chart renderer fails.
 */
export async function verifyExport(input: ExportCheckInput): Promise<ExportCheck> {
  const format: ExportFormat = input.format ?? (/^<!doctype html/i.test(input.text) ? "html" : "md");
  let raw: string | undefined;
  if (format === "html") {
    raw = PROOF_RE.exec(input.text)?.[1];
    if (raw === undefined)
      return fail("the export", `it holds no Databook proof (no <script id="${PROOF_ELEMENT_ID}"> element)`);
  } else {
    raw = input.proof;
    if (raw === undefined)
      return fail("the export", "a Markdown export is checked with its proof file (<file>.proof.json beside it)");
  }
  const doc = readDocument(raw, format === "html" ? "the embedded proof" : "the proof file");
  if (typeof doc === "string") return fail("the proof", doc);

  const report = verifyBundle(doc.bundle, input.keys, { olderCheckpoints: input.olderCheckpoints ?? [] });
  if (!report.ok) return { ok: false, what: report.item.kind, message: report.error.message };
  if (!report.wholeTree) {
    const seqs = new Set(doc.bundle.entries.map((e) => e.seq));
    let missing = 1;
    while (seqs.has(missing)) missing++;
    return fail(
      `entry seq ${missing}`,
      `the proof leaves it out (the checkpoint covers ${report.treeSize} entries, the proof holds ${report.entries}): an export shows the whole log, so an entry was removed from it`,
    );
  }

  let rendered: Awaited<ReturnType<typeof renderExport>>;
  try {
    rendered = await renderExport(doc, format);
  } catch (e) {
    if (isDatabookError(e) && e.kind === "bad-input") return fail("the proof", e.message);
    throw e;
  }
  if (rendered.text !== input.text) {
    const a = input.text;
    const b = rendered.text;
    let at = 0;
    while (at < a.length && at < b.length && a[at] === b[at]) at++;
    const region = regionAt(rendered, at);
    const inImage = /src="data:image\/png;base64,[A-Za-z0-9+/=]*$/.test(b.slice(Math.max(0, at - 400_000), at));
    const shown = around(a, at);
    const proved = around(b, at);
    return fail(
      region?.label ?? "the page around the proved parts",
      `the file shows something other than what its proof holds${inImage ? " (in its chart image: edited, or drawn by another version of Databook)" : ""}: line ${shown.line} reads ${shown.quote} where the proof gives ${proved.quote}`,
    );
  }
  return {
    ok: true,
    format,
    notebookId: doc.bundle.notebookId,
    origin: report.origin,
    treeSize: report.treeSize,
    rootHash: report.rootHash,
    signedBy: report.signedBy,
    outputs: report.outputs,
    consistentWith: report.consistentWith,
  };
}
