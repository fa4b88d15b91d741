import { buildExportDocument, type ExportSources, type RunsChoice } from "./document.ts";
import { type ExportFormat, exportFileName, renderExport } from "./render.ts";

/** One file of an export: its name, content type and text. */
export type ExportFile = { name: string; contentType: string; text: string };

/** The content types export files are served and saved as. */
export const EXPORT_CONTENT_TYPES = {
  md: "text/markdown; charset=utf-8",
  html: "text/html; charset=utf-8",
  proof: "application/json; charset=utf-8",
} as const;

/**
 * Makes the postmortem export of notebook `notebookId`: for HTML one file (the proof inside), for
 * Markdown the `.md` and its proof beside it (`<name>.proof.json`). Undefined when the notebook
 * has no log entries. Throws what `buildExportDocument` and `renderExport` throw.
 */
export async function makeExport(
  src: ExportSources,
  notebookId: string,
  opts: { format: ExportFormat; runs?: RunsChoice; nowMs: number },
): Promise<ExportFile[] | undefined> {
  await src.stored?.(notebookId);
  const doc = await buildExportDocument(src, notebookId, opts);
  if (!doc) return undefined;
  const name = exportFileName(notebookId, opts.format);
  const { text } = await renderExport(doc, opts.format);
  const main = { name, contentType: EXPORT_CONTENT_TYPES[opts.format], text };
  if (opts.format === "html") return [main];
  return [
    main,
    { name: `${name}.proof.json`, contentType: EXPORT_CONTENT_TYPES.proof, text: `${JSON.stringify(doc)}\n` },
  ];
}
