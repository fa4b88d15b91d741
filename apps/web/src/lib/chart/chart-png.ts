/**
 * A chart as a PNG a responder can paste into a ticket or chat: the drawn canvas with the words
 * around it the page shows (a title line with the query and the drawn range, the caption of
 * labels every series shares, the legend of the series shown), copied to the clipboard as
 * `image/png`, or downloaded when the clipboard refuses.
 */

/** The words drawn around the chart, and its colours (chart-config's theme for the page). */
export type PngText = {
  /** The first line: the query and the drawn range in the page's zone. */
  title: string;
  /** Labels every series shares (`job="api"`), or undefined. */
  caption?: string;
  /** The legend entries shown, in order; at most {@link MAX_LEGEND_ROWS} are drawn. */
  legend: { text: string; colour: string }[];
  background: string;
  text: string;
  fontFamily: string;
};

/** Legend entries drawn in the image; more are counted in one last line. */
export const MAX_LEGEND_ROWS = 24;

/**
 * Draws `chart` (a drawn chart.js canvas) with `words` around it onto a new canvas at the chart's
 * own pixel density, and resolves with its PNG. Rejects when the browser cannot encode one.
 */
export function chartPng(chart: HTMLCanvasElement, words: PngText): Promise<Blob> {
  const scale = chart.width / Math.max(1, chart.clientWidth || chart.width);
  const cssWidth = chart.width / scale;
  const pad = 8;
  const line = 16;
  const lines: { text: string; colour?: string; bold?: boolean }[] = [{ text: words.title, bold: true }];
  if (words.caption) lines.push({ text: `All series: ${words.caption}` });
  const legend = words.legend.slice(0, MAX_LEGEND_ROWS);
  const more = words.legend.length - legend.length;
  const cssHeight = chart.height / scale;
  const height = pad + lines.length * line + cssHeight + (legend.length + (more > 0 ? 1 : 0)) * line + pad;

  const out = document.createElement("canvas");
  out.width = Math.ceil(cssWidth * scale);
  out.height = Math.ceil(height * scale);
  const ctx = out.getContext("2d");
  if (!ctx) return Promise.reject(new Error("this browser cannot draw a 2D canvas"));
  ctx.scale(scale, scale);
  ctx.fillStyle = words.background;
  ctx.fillRect(0, 0, cssWidth, height);
  ctx.textBaseline = "middle";
  let y = pad + line / 2;
  for (const l of lines) {
    ctx.font = `${l.bold ? "600 " : ""}12px ${words.fontFamily}`;
    ctx.fillStyle = words.text;
    ctx.fillText(l.text, pad, y, cssWidth - 2 * pad);
    y += line;
  }
  ctx.drawImage(chart, 0, y - line / 2, cssWidth, cssHeight);
  y += cssHeight;
  ctx.font = `11.5px ${words.fontFamily}`;
  for (const entry of legend) {
    ctx.fillStyle = entry.colour;
    ctx.fillRect(pad, y - 5, 10, 10);
    ctx.fillStyle = words.text;
    ctx.fillText(entry.text, pad + 16, y, cssWidth - 2 * pad - 16);
    y += line;
  }
  if (more > 0) ctx.fillText(`+ ${more} more series`, pad, y);
  return new Promise((resolve, reject) =>
    out.toBlob((b) => (b ? resolve(b) : reject(new Error("the browser could not encode the PNG"))), "image/png"),
  );
}

/** How long a clipboard write may wait before the PNG is downloaded instead, in ms. */
export const COPY_WAIT_MS = 5_000;

/** What became of the image: on the clipboard, or downloaded as `file` because the clipboard refused (`why`). */
export type PngOutcome = { kind: "copied" } | { kind: "downloaded"; file: string; why: string };

/**
 * Puts `png` on the clipboard as `image/png` (Async Clipboard API, `ClipboardItem`); when that is
 * refused (no permission, not a secure context, no ClipboardItem), downloads it as `file` instead
 * and says why. Rejects only when the PNG itself could not be made.
 */
export async function copyOrDownloadPng(png: Promise<Blob>, file: string): Promise<PngOutcome> {
  let why: string;
  try {
    if (typeof ClipboardItem === "undefined" || !navigator.clipboard?.write)
      throw new Error("this page cannot write images to the clipboard");
    // The item gets the promise, not the blob: the write starts within the click that asked.
    const write = navigator.clipboard.write([new ClipboardItem({ "image/png": png })]);
    // A write left waiting (a permission prompt nobody answers) counts as refused, not as nothing.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${COPY_WAIT_MS / 1000} s`)), COPY_WAIT_MS);
    });
    await Promise.race([write, late]).finally(() => clearTimeout(timer));
    return { kind: "copied" };
  } catch (e) {
    why = (e as Error).message || String(e);
  }
  const url = URL.createObjectURL(await png);
  try {
    const a = document.createElement("a");
    a.href = url;
    a.download = file;
    document.body.append(a);
    a.click();
    a.remove();
  } finally {
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
  return { kind: "downloaded", file, why };
}
