import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { imageExtents } from "../src/core-module.ts";
import { sharePages } from "../src/image-pages.ts";

const PAGE = 4096;

/** An image of `pages` pages; page i holds `fill(i)` in every byte (0: a zero page). */
function image(pages: number, fill: (i: number) => number): Uint8Array {
  const out = new Uint8Array(pages * PAGE);
  for (let i = 0; i < pages; i++) out.fill(fill(i), i * PAGE, (i + 1) * PAGE);
  return out;
}

/** Writes an image's runs into a zeroed memory, as a worker does for a new memory. */
function rebuild(runs: [number, number, number, number][], sources: SharedArrayBuffer[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (const [offset, length, source, from] of runs) out.set(new Uint8Array(sources[source]!, from, length), offset);
  return out;
}

describe("memory images shared page by page", () => {
  it("rebuilds each image byte for byte, and keeps a page another image has only once", () => {
    // Pages 0-9: zero, 1..9 alternating; b shares a's pages except page 3 and 7, and has a tail.
    const a = image(10, (i) => (i % 2 === 0 ? 0 : i));
    const b = image(12, (i) => (i === 3 ? 33 : i === 7 ? 77 : i >= 10 ? 100 + i : i % 2 === 0 ? 0 : i));
    const ea = imageExtents(a);
    const eb = imageExtents(b);
    const sa = sharePages(ea.extents, ea.data);
    const sb = sharePages(eb.extents, eb.data);
    assert.deepEqual(rebuild(sa.runs, sa.sources, a.length), a);
    assert.deepEqual(rebuild(sb.runs, sb.sources, b.length), b);
    // a's five non-zero pages are all its own; b brings only 3, 7 (changed), 10 and 11.
    assert.equal(sa.sources[0]!.byteLength, 5 * PAGE);
    assert.equal(sb.sources[0]!.byteLength, 4 * PAGE);
    assert.ok(sb.sources.includes(sa.sources[0]!), "b reads the pages it shares from a's buffer");
  });

  it("shares a page wherever it sits, and handles an image that ends inside a page", () => {
    const a = new Uint8Array(3 * PAGE + 100).fill(9);
    const b = new Uint8Array(2 * PAGE);
    b.fill(9, PAGE, 2 * PAGE); // b's page 1 is a's page 0 (all nines)
    const sa = sharePages(imageExtents(a).extents, imageExtents(a).data);
    const sb = sharePages(imageExtents(b).extents, imageExtents(b).data);
    assert.deepEqual(rebuild(sa.runs, sa.sources, a.length), a);
    assert.deepEqual(rebuild(sb.runs, sb.sources, b.length), b);
    assert.equal(sb.sources[0]!.byteLength, 0);
  });
});
