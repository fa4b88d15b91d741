/**
 * Which runbooks "new incident" suggests and which parameters it asks for: plain functions over
 * `GET /api/runbooks` answers (apps/server/src/runbooks/describe.ts), kept apart from the form's
 * state so they can be tested without a page.
 */
import type { AskedParam, RunbookView } from "../api/incident-types.ts";

/** Where a parameter's value goes in the request: `labels.NAME`, `annotations.NAME`, `params.NAME`. */
export type ParamSource = "labels" | "annotations" | "params";
/** One parameter the form asks for; `key` is how the runbook writes it (`params.version`). */
export type AskedField = AskedParam & { source: ParamSource; key: string };

/** Runbooks shown as suggestions at most. */
const MAX_SUGGESTIONS = 8;

/** Words of at least 3 letters, lower case: what a title and a runbook title share. */
const words = (s: string) => new Set(s.toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) ?? []);

/**
 * Orders runbooks for a title: those whose matchers hold first (the server's order), then by how
 * many title words they share. Pure, for the form and its tests.
 */
export function suggest(runbooks: RunbookView[], title: string): RunbookView[] {
  const want = words(title);
  const shared = (r: RunbookView) => [...words(r.title)].filter((w) => want.has(w)).length;
  return runbooks
    .map((r, i) => ({ r, i, m: r.matches ? 1 : 0, s: shared(r) }))
    .sort((a, b) => b.m - a.m || b.s - a.s || a.i - b.i)
    .map((x) => x.r)
    .slice(0, MAX_SUGGESTIONS);
}

/** The fields a runbook asks for, labels first. */
export function fieldsOf(r: RunbookView | undefined): AskedField[] {
  if (!r) return [];
  const out: AskedField[] = [];
  for (const source of ["labels", "annotations", "params"] as const)
    for (const p of r.parameters[source]) out.push({ ...p, source, key: `${source}.${p.name}` });
  return out;
}
