/**
 * Memory images shared page by page. The images of plugins built by the same tools are mostly
 * the same pages: the four bundled componentize-js plugins' 4,090 non-zero 4 KiB pages are 1,982
 * distinct ones (the engine's heap is the same; only the plugin's own code and data differ). So
 * the host keeps each distinct page once, in whichever image brought it first, and an image is a
 * list of runs pointing into those buffers. Buffers are held weakly by the index: a page whose
 * image was unloaded, and that no other image uses, is freed.
 */
import { createHash } from "node:crypto";

/** A run of image bytes: `length` bytes at memory `offset`, read from `sources[source]` at `from`. */
export type ImageRun = [offset: number, length: number, source: number, from: number];

const PAGE = 4096;

/** Distinct pages by content: the buffer holding one and where. */
const index = new Map<string, { buffer: WeakRef<SharedArrayBuffer>; at: number }>();

/**
 * Builds an image's runs from its non-zero extents (`[offset, length]` in memory, their bytes one
 * after another in `data`; whole 4 KiB pages, see core-module.ts `imageExtents`), reusing every
 * page another loaded image already holds and copying the others into one new shared buffer.
 */
export function sharePages(
  extents: [number, number][],
  data: Uint8Array,
): { runs: ImageRun[]; sources: SharedArrayBuffer[] } {
  type Page = { offset: number; at: number; length: number; hash: string; found?: SharedArrayBuffer; foundAt: number };
  const pages: Page[] = [];
  let at = 0;
  for (const [offset, length] of extents) {
    for (let p = 0; p < length; p += PAGE) {
      const n = Math.min(PAGE, length - p);
      const bytes = data.subarray(at + p, at + p + n);
      const hash = `${n}:${createHash("sha1").update(bytes).digest("base64")}`;
      const known = index.get(hash);
      const found = known?.buffer.deref();
      pages.push({
        offset: offset + p,
        at: at + p,
        length: n,
        hash,
        ...(found ? { found } : {}),
        foundAt: known?.at ?? 0,
      });
    }
    at += length;
  }
  const own = new SharedArrayBuffer(pages.reduce((n, pg) => n + (pg.found ? 0 : pg.length), 0));
  const ownView = new Uint8Array(own);
  const sources: SharedArrayBuffer[] = [own];
  const runs: ImageRun[] = [];
  let used = 0;
  for (const pg of pages) {
    let source: number;
    let from: number;
    if (pg.found) {
      source = sources.indexOf(pg.found);
      if (source < 0) source = sources.push(pg.found) - 1;
      from = pg.foundAt;
    } else {
      ownView.set(data.subarray(pg.at, pg.at + pg.length), used);
      index.set(pg.hash, { buffer: new WeakRef(own), at: used });
      source = 0;
      from = used;
      used += pg.length;
    }
    const last = runs.at(-1);
    if (last && last[0] + last[1] === pg.offset && last[2] === source && last[3] + last[1] === from)
      last[1] += pg.length;
    else runs.push([pg.offset, pg.length, source, from]);
  }
  for (const [hash, v] of index) if (!v.buffer.deref()) index.delete(hash);
  return { runs, sources };
}
