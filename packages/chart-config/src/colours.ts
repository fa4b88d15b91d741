/**
 * Series colours (docs/charts.md, "Colours"): the same series gets the same colour in every cell,
 * on every page load and in the export, because the colour comes from a hash of the series'
 * identity, never from its position in the result.
 */
import { seriesName } from "@databook/wire";
import type { Labels } from "./legend.ts";

/** Light or dark page. */
export type Theme = "light" | "dark";

/**
 * Sixteen hues, one list per theme with the same hue at the same slot: OKLCH lightness 0.55
 * (light) and 0.76 (dark), chroma cut to the sRGB gamut, neighbours 112° apart. Each has a WCAG
 * contrast of at least 4.5:1 on the light chart background and 7:1 on the dark one (checked in
 * colours.test.ts).
 */
export const PALETTE: Record<Theme, readonly string[]> = {
  light: [
    "#c13c3b",
    "#3a8608",
    "#0274c7",
    "#bc3a69",
    "#70790e",
    "#087da1",
    "#ae4090",
    "#886f09",
    "#13808a",
    "#994ab1",
    "#9c640d",
    "#108376",
    "#7b57c8",
    "#b54f02",
    "#118659",
    "#5265d3",
  ],
  dark: [
    "#fe8b83",
    "#78c957",
    "#70b6fd",
    "#fd85a9",
    "#afbc0d",
    "#13c2f8",
    "#f682d3",
    "#d4ad04",
    "#21c7d7",
    "#dd8bf7",
    "#f09c17",
    "#07ccb8",
    "#b79ffd",
    "#fd9056",
    "#0fd18b",
    "#97acfd",
  ],
};

/**
 * What makes two series "the same" for colouring: their labels without `__name__`, written as
 * `{k="v", …}`. Without the name, `rate(x_total[5m])` keeps the colour its `x_total{…}` series had.
 */
export function seriesIdentity(labels: Labels): string {
  return seriesName(labels, { __name__: "" });
}

/** 32-bit FNV-1a of a string's UTF-16 code units: fast, stable, spreads short strings well. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * Palette slots for the series of one chart, one per identity, in the order given. Each series
 * wants slot `hash(identity) mod 16`. When two want the same slot, they are settled in the order
 * of their identity strings (then their position), so the result does not depend on the order
 * Prometheus returned them in: the first keeps its slot and the next takes the following free
 * slot. With more series than slots, slots are shared evenly, still starting from the wanted one.
 */
export function colourSlots(identities: readonly string[], slots = PALETTE.light.length): number[] {
  const order = identities
    .map((id, index) => ({ id, index }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.index - b.index));
  const used = new Array<number>(slots).fill(0);
  const out = new Array<number>(identities.length);
  for (const { id, index } of order) {
    const least = Math.min(...used);
    const wanted = fnv1a(id) % slots;
    let slot = wanted;
    while (used[slot] !== least) slot = (slot + 1) % slots;
    used[slot] = (used[slot] as number) + 1;
    out[index] = slot;
  }
  return out;
}

/** The colours (CSS hex) of a chart's series, from their labels, for a theme. */
export function seriesColours(labelSets: readonly Labels[], theme: Theme): string[] {
  const palette = PALETTE[theme];
  return colourSlots(labelSets.map(seriesIdentity), palette.length).map((slot) => palette[slot] as string);
}
