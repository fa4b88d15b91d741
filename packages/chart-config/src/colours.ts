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
 * Sixteen colours, one list per theme with the same hue at the same slot: hues 22.5° apart in
 * OKLCH, neighbours on the hue circle alternating between a darker and a lighter tone (OKLCH
 * lightness 0.48/0.64 on light, 0.68/0.84 on dark) so that close hues still tell apart, chroma
 * cut to the sRGB gamut; consecutive slots are 112.5° apart. Every colour has a WCAG contrast of
 * at least 3:1 (the non-text minimum) on the light chart background and 4.5:1 on the dark one
 * (checked in colours.test.ts).
 */
export const PALETTE: Record<Theme, readonly string[]> = {
  light: [
    "#a92227",
    "#53a32d",
    "#0260a6",
    "#db5783",
    "#5c6409",
    "#169ac5",
    "#97297b",
    "#a88905",
    "#086a73",
    "#b566cf",
    "#81520a",
    "#18a292",
    "#6741b1",
    "#db6411",
    "#0b6f49",
    "#6b81f2",
  ],
  dark: [
    "#ef6661",
    "#92e471",
    "#319cfc",
    "#fdb2c5",
    "#96a212",
    "#80d8fe",
    "#da69b9",
    "#f1c60f",
    "#09acba",
    "#ebb2fe",
    "#d0860b",
    "#00ead3",
    "#a17ff5",
    "#ffb895",
    "#15b477",
    "#bac8fc",
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
