/**
 * The fair queue as a figure: how long notebook B's echo waits while notebook A has a flood of
 * slow runs queued — with no schedule (every call its own queue: what one FIFO did), with the fair
 * queue letting A hold both workers, and with the fair queue's defaults — against B alone.
 * Slow runs are the hostile WAT fixture sleeping (`S<ms>`: it blocks its worker, as a slow query does).
 */
import type { PluginHost, ScheduleOptions } from "../../plugin-host/src/index.ts";

/** B's queue wait (ms) in each setting. */
export type FairnessFigures = { aloneMs: number; fifoMs: number; fairFullMs: number; fairDefaultMs: number };

const req = (input: string) => ({ input, options: [] as [string, string][], user: "bench" });

/**
 * One setting: A queues `flood` slow runs; a third of a run after the first starts, B's echo is
 * queued; returns B's queue wait. A's runs still waiting are then cancelled. `schedule` gives
 * each call's schedule (`i`: A's run number).
 */
export async function waitBehindFlood(
  host: PluginHost,
  flood: number,
  slowMs: number,
  schedule: (who: "a" | "b", i: number) => ScheduleOptions,
): Promise<number> {
  const stop = new AbortController();
  let started = 0;
  const a = Array.from({ length: flood }, (_, i) =>
    host
      .invoke("slow", req(`S${slowMs}`), { ...schedule("a", i), signal: stop.signal, onStart: () => started++ })
      .catch(() => undefined),
  );
  while (flood > 0 && started < 1) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, slowMs / 3));
  const b = await host.invoke("echo", req("from B"), schedule("b", 0));
  stop.abort(new Error("done"));
  await Promise.all(a);
  return b.queueWaitMs ?? Number.NaN;
}

/** The four settings (see the file comment), on hosts made by `open`. */
export async function fairnessFigures(
  open: (opts: { maxRunningPerQueue?: number; maxRunningPerPrincipal?: number }) => Promise<PluginHost>,
  flood: number,
  slowMs: number,
): Promise<FairnessFigures> {
  const fair = (who: "a" | "b") => ({ queue: `notebook-${who}`, principal: `user:${who}` });
  const run = async (
    opts: { maxRunningPerQueue?: number; maxRunningPerPrincipal?: number },
    sched: (who: "a" | "b", i: number) => ScheduleOptions,
    n: number,
  ) => {
    const host = await open(opts);
    try {
      return await waitBehindFlood(host, n, slowMs, sched);
    } finally {
      await host.close();
    }
  };
  return {
    aloneMs: await run({}, fair, 0),
    // Every call alone in its queue: the order is arrival, as one FIFO had it.
    fifoMs: await run({}, (who, i) => ({ queue: `${who}${i}`, principal: `${who}${i}` }), flood),
    // A may hold both workers: B waits for one of A's runs to end, then goes first.
    fairFullMs: await run({ maxRunningPerQueue: 2, maxRunningPerPrincipal: 2 }, fair, flood),
    fairDefaultMs: await run({}, fair, flood),
  };
}
