/**
 * The one font export charts are drawn in: DejaVu Sans from the `dejavu-fonts-ttf` npm package
 * (Bitstream Vera licence, DejaVu changes public domain; see its LICENSE), registered with
 * @napi-rs/canvas under a family name no system font has, so a chart's text is the same on every
 * machine whatever fonts it has installed.
 */
import { createRequire } from "node:module";

/** The family name the chart font is registered under (and the chart configuration names). */
export const CHART_FONT_FAMILY = "Databook Chart Sans";

/** Absolute path of the chart font file (TrueType). */
export function chartFontPath(): string {
  return createRequire(import.meta.url).resolve("dejavu-fonts-ttf/ttf/DejaVuSans.ttf");
}
