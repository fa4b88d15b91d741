#!/usr/bin/env node
// Prints a Markdown table from run.sh's runs.jsonl: per (N, peer) the median over repetitions of
// p50/p99 latency, edits lost, server CPU, other processes' CPU, and p50/p99 as ratios to
// @y/websocket-server in the same run. Usage: node summarize.mjs runs.jsonl [--clean-max=PCT]
import { readFileSync } from "node:fs";

const runs = process.argv
  .slice(2)
  .filter((a) => !a.startsWith("--"))
  .flatMap((f) =>
    readFileSync(f, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l)),
  );
const cleanArg = process.argv.find((a) => a.startsWith("--clean-max="));
const cleanMax = cleanArg ? Number(cleanArg.split("=")[1]) : undefined;
const median = (xs) => {
  const a = xs.filter((x) => x != null && Number.isFinite(x)).sort((p, q) => p - q);
  if (!a.length) return null;
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
};
const f = (x, d = 1) => (x == null ? "-" : Number(x).toFixed(d));
const order = ["floor", "databook", "databook-1", "databook-3", "ywebsocket", "hocuspocus"];
const pick = cleanMax === undefined ? runs : runs.filter((r) => (r.cpu?.others_pct ?? 0) <= cleanMax);
const groups = new Map();
for (const r of pick) {
  const k = `${r.followers}|${r.peer}`;
  groups.set(k, [...(groups.get(k) ?? []), r]);
}
const stat = (rs) => ({
  n: rs.length,
  p50: median(rs.map((r) => r.latency_ms?.p50)),
  p99: median(rs.map((r) => r.latency_ms?.p99)),
  lost: median(rs.map((r) => r.lost)),
  srv: median(rs.map((r) => r.cpu?.server_pct)),
  others: median(rs.map((r) => r.cpu?.others_pct)),
  synced: Math.min(...rs.map((r) => r.connected?.followers_synced ?? 0)),
});
const lines = [
  `| N | peer | runs | synced | p50 ms | p99 ms | lost | server CPU % | others CPU % | p50 / ywebsocket | p99 / ywebsocket |`,
  "|---|---|---|---|---|---|---|---|---|---|---|",
];
const ns = [...new Set(pick.map((r) => r.followers))].sort((a, b) => a - b);
for (const n of ns) {
  const base = groups.get(`${n}|ywebsocket`) && stat(groups.get(`${n}|ywebsocket`));
  for (const peer of order) {
    const rs = groups.get(`${n}|${peer}`);
    if (!rs) continue;
    const s = stat(rs);
    const ratio = (a, b) => (a == null || !b ? "-" : (a / b).toFixed(2));
    lines.push(
      `| ${n} | ${peer} | ${s.n} | ${s.synced}/${n} | ${f(s.p50)} | ${f(s.p99)} | ${f(s.lost, 0)} | ${f(s.srv)} | ${f(s.others)} | ${ratio(s.p50, base?.p50)} | ${ratio(s.p99, base?.p99)} |`,
    );
  }
}
console.log(lines.join("\n"));
if (cleanMax !== undefined)
  console.log(`\n(only runs where other processes used ≤ ${cleanMax} % of a core: ${pick.length} of ${runs.length})`);
