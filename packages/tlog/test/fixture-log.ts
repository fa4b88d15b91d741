/**
 * A notebook's log for the tests, written the way docs/incident-log.md defines entries (canonical
 * JSON v1: sorted keys, no whitespace, hash-chained), with run.finished entries that reference
 * stored outputs — so the bundle tests exercise real entry bytes without importing the server.
 */
import { createHash } from "node:crypto";

export type FixtureOutput = { sha256: string; contentType: string; body: string };
export type FixtureLog = { notebookId: string; canonical: string[]; outputs: FixtureOutput[] };

/** JSON with object keys sorted (docs/incident-log.md "canonicalJson"), enough for plain test data. */
export function sortedJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${sortedJson(o[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

const sha256Hex = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

/**
 * `runs` runs after a notebook.created entry: each a run.started and a run.finished entry, the
 * finished one referencing an output (tables and time series alternate, every body distinct).
 */
export function fixtureLog(notebookId: string, runs: number): FixtureLog {
  const canonical: string[] = [];
  const outputs: FixtureOutput[] = [];
  let prevHash = "0".repeat(64);
  const add = (type: string, data: Record<string, unknown>, runId: string | null) => {
    const seq = canonical.length + 1;
    const c = sortedJson({
      v: 1,
      notebookId,
      seq,
      type,
      atMs: 1764385200000 + seq * 1000,
      actor: "ana",
      cellId: runId ? "cell-1" : null,
      runId,
      data,
      prevHash,
    });
    canonical.push(c);
    prevHash = sha256Hex(c);
  };
  add("notebook.created", { title: "api 502s", timeRange: { kind: "relative", range: "1h" } }, null);
  for (let r = 0; r < runs; r++) {
    const runId = `run-${r}`;
    add(
      "run.started",
      { input: `rate(http_requests_total[5m]) # ${r}`, options: [], action: false, actionOptions: [] },
      runId,
    );
    const contentType =
      r % 2 === 0 ? "application/vnd.databook.table+json" : "application/vnd.databook.timeseries+json";
    const body = JSON.stringify({ run: r, rows: [[r, r * 1.5]] });
    const sha256 = sha256Hex(body);
    outputs.push({ sha256, contentType, body });
    add(
      "run.finished",
      { outcome: "done", durationMs: 12 + r, contentType, outputHash: sha256, outputBytes: body.length, warnings: [] },
      runId,
    );
  }
  return { notebookId, canonical, outputs };
}
