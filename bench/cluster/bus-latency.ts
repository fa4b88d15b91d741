/**
 * The Redis hop of the cluster bus (issue 16): publish on node A → delivered on nodes B and C,
 * through a real redis-server on loopback, at a steady 100 and 500 messages per second on one
 * notebook. Each message is a 64-byte payload (about a keystroke's Yjs update) carrying its send
 * time; the receivers subtract it from the time they get it (one process, one clock). Prints
 * p50/p99/max per rate and receiver, with how many arrived and any gap. This is the figure the
 * multi-node fan-out benchmark adds on top of one node's fan-out.
 *
 * Usage: flock /tmp/databook-heavy.lock node bench/cluster/bus-latency.ts [--seconds 10]
 */
import { parseArgs } from "node:util";
import { startRedis } from "@databook/test-services";
import { createBus, type Delivered } from "../../apps/server/src/cluster/bus.ts";
import { redisClient } from "../../apps/server/src/cluster/redis-client.ts";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "10" } } });
const seconds = Number(values.seconds);
const RATES = [100, 500];
const NOTEBOOK = "bench";

const now = () => performance.timeOrigin + performance.now();
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

const redis = await startRedis();
type Receiver = { name: string; latencies: number[]; gaps: number };
const receivers: Receiver[] = [];
const node = (name: string) => {
  const r: Receiver = { name, latencies: [], gaps: 0 };
  receivers.push(r);
  const bus = createBus({
    reader: redisClient(redis.url, "bus-reader"),
    writer: redisClient(redis.url, "bus-writer"),
    onMessage: (m: Delivered) => {
      if (m.kind === "update") r.latencies.push(now() - m.data.readDoubleLE(0));
    },
    onGap: () => r.gaps++,
    log: (l) => console.error(`${name}: ${l}`),
  });
  return bus;
};
const [a, b, c] = [node("A"), node("B"), node("C")];
try {
  await Promise.all([a, b, c].map((n) => n.ready()));
  for (const n of [a, b, c]) await n.subscribe(NOTEBOOK);
  console.log(
    `bus publish → receive across one Redis hop (redis-server ${redis.url}, ${seconds} s per rate, 64-byte payloads)\n`,
  );
  console.log("| rate (msg/s) | node | delivered | p50 (ms) | p99 (ms) | max (ms) | gaps |");
  console.log("|---|---|---|---|---|---|---|");
  for (const rate of RATES) {
    for (const r of receivers) {
      r.latencies = [];
      r.gaps = 0;
    }
    const total = rate * seconds;
    const start = now();
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - now();
      if (wait > 1) await new Promise((res) => setTimeout(res, wait));
      const data = Buffer.alloc(64, i & 0xff);
      data.writeDoubleLE(now(), 0);
      void a.publish({ kind: "update", notebookId: NOTEBOOK, data });
    }
    const until = now() + 5000;
    while (now() < until && receivers.slice(1).some((r) => r.latencies.length < total))
      await new Promise((res) => setTimeout(res, 20));
    for (const r of receivers.slice(1)) {
      const s = [...r.latencies].sort((x, y) => x - y);
      const f = (x: number) => x.toFixed(2);
      console.log(
        `| ${rate} | ${r.name} | ${s.length}/${total} | ${f(quantile(s, 0.5))} | ${f(quantile(s, 0.99))} | ${f(s.at(-1) ?? NaN)} | ${r.gaps} |`,
      );
    }
  }
  console.log(`\nA's own deliveries (must be 0): ${receivers[0]!.latencies.length}`);
} finally {
  await Promise.all([a, b, c].map((n) => n.close()));
  await redis.stop();
}
