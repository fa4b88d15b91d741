/**
 * Legend text of a chart (docs/charts.md, "Legend"): labels every series shares move to one
 * caption, so 13 series stop repeating `instance=…, job=…`; `@legend=` templates name series the
 * way Prometheus's console templates and Grafana's legend format do (`{{code}} on {{instance}}`).
 */
import { seriesName } from "@databook/wire";

/** Labels as a series carries them, `__name__` included when present. */
export type Labels = Record<string, string>;

/**
 * The labels (name → value) that every one of `labelSets` has with the same value. Empty for
 * fewer than two sets: one series has nothing to factor out.
 */
export function commonLabels(labelSets: readonly Labels[]): Labels {
  if (labelSets.length < 2) return {};
  const [first, ...rest] = labelSets as [Labels, ...Labels[]];
  const out: Labels = {};
  for (const [k, v] of Object.entries(first)) if (rest.every((l) => l[k] === v)) out[k] = v;
  return out;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/**
 * Fills a legend template: each `{{label}}` (spaces inside the braces allowed, `{{ code }}`) is
 * replaced by that label's value, or by nothing when the series has no such label — as Grafana
 * does. Anything else, an unclosed `{{` included, is kept as written.
 */
export function fillTemplate(template: string, labels: Labels): string {
  return template.replace(PLACEHOLDER, (_m, key: string) => labels[key] ?? "");
}

/** The legend of a chart: a caption of the shared labels, and one entry per series, in order. */
export type Legend = {
  /** The labels all series share, written as {@link formatLabels} does; undefined when none. */
  caption: string | undefined;
  entries: string[];
};

/**
 * Builds a chart's legend. Without a template each entry is the series' labels minus the shared
 * ones (`{code="500"}`); with one, each entry is the filled template, or the series' full name
 * when the template comes out blank for it. The caption lists the shared labels either way; a
 * single series has no caption and its full name as its entry.
 */
export function buildLegend(series: readonly { name: string; labels: Labels }[], template?: string): Legend {
  const common = commonLabels(series.map((s) => s.labels));
  const hasCommon = Object.keys(common).length > 0;
  const caption = hasCommon ? seriesName(common) : undefined;
  const entries = series.map((s) => {
    if (template) {
      const filled = fillTemplate(template, s.labels).trim();
      if (filled) return filled;
      return s.name;
    }
    if (!hasCommon) return s.name;
    return seriesName(s.labels, common);
  });
  return { caption, entries };
}
