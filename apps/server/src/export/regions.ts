/**
 * A rendered export and where its parts came from: `regions` are character ranges of `text`
 * (start inclusive, end exclusive) labelled with what they show ("entry seq 12 (run … of cell …)"),
 * so a verifier that re-renders and finds a difference can name the entry it falls in.
 */
export type Rendered = { text: string; regions: Region[] };

/** One labelled range of a rendered export; see {@link Rendered}. */
export type Region = { start: number; end: number; label: string };

/** Builds a {@link Rendered} piece by piece: `add` text, `region` wraps what its callback adds. */
export function createRenderedWriter() {
  const parts: string[] = [];
  const regions: Region[] = [];
  let length = 0;
  return {
    add(...texts: string[]): void {
      for (const t of texts) {
        parts.push(t);
        length += t.length;
      }
    },
    region(label: string, fill: () => void): void {
      const start = length;
      fill();
      regions.push({ start, end: length, label });
    },
    done: (): Rendered => ({ text: parts.join(""), regions }),
  };
}

export type RenderedWriter = ReturnType<typeof createRenderedWriter>;

/**
 * The label of the innermost region holding character `at` of a rendered export, or undefined
 * when it lies outside every region.
 */
export function regionAt(r: Rendered, at: number): Region | undefined {
  let best: Region | undefined;
  for (const g of r.regions)
    if (g.start <= at && at < Math.max(g.end, g.start + 1) && (!best || g.end - g.start < best.end - best.start))
      best = g;
  return best;
}
