/**
 * The fair queue through the host API, with real components: slow runs are the hostile WAT
 * plugin sleeping ("S<ms>", blocking its worker as a slow query would), quick ones the WAT echo.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import type { InvokeResult, PluginHost, ScheduleOptions } from "../src/index.ts";
import { createScheduler } from "../src/scheduler.ts";
import { configToml, fixture, outputOf, withHost } from "./helpers.ts";

let hostile: string;
let echo: string;
before(async () => {
  hostile = await fixture("hostile-wat");
  echo = await fixture("echo-wat");
});

const SLOW_MS = 300;
const req = (input: string, user = "ada") => ({ input, options: [] as [string, string][], user });

/** Starts a slow call and resolves once a worker has taken it, with the call's own promise. */
async function busyWith(host: PluginHost, schedule: ScheduleOptions): Promise<{ done: Promise<InvokeResult> }> {
  let started!: () => void;
  const running = new Promise<void>((r) => {
    started = r;
  });
  const done = host.invoke("slow", req(`S${SLOW_MS}`), { ...schedule, onStart: started });
  await running;
  return { done };
}

function withSlowAndEcho<T>(opts: Parameters<typeof withHost>[1], fn: (host: PluginHost) => Promise<T>) {
  return withHost(
    [
      { folder: "slow", config: configToml("slow"), wasm: hostile },
      { folder: "echo", config: configToml("echo"), wasm: echo },
    ],
    { poolSize: 2, fastWorkers: 1, ...opts },
    fn,
  );
}

/** Queues `n` slow runs in `queue` for `principal`; resolves each start time and result. */
function flood(host: PluginHost, n: number, schedule: ScheduleOptions, starts: string[]) {
  return Array.from({ length: n }, (_, i) =>
    host
      .invoke("slow", req(`S${SLOW_MS}`), {
        ...schedule,
        onStart: () => starts.push(`${schedule.queue}#${i}`),
      })
      .catch((reason: unknown) => ({ cancelled: reason })),
  );
}

describe("fair queue", () => {
  it("an echo in notebook B starts before notebook A's next queued run, even when A holds every worker", async () => {
    await withSlowAndEcho({ maxRunningPerQueue: 2, maxRunningPerPrincipal: 2 }, async (host) => {
      const starts: string[] = [];
      const stopA = new AbortController();
      const a = flood(host, 50, { queue: "notebook-a", principal: "user:ada", signal: stopA.signal }, starts);
      while (starts.length < 2) await new Promise((r) => setTimeout(r, 5));
      // B arrives while A's two runs are under way, as a call would at any time.
      await new Promise((r) => setTimeout(r, SLOW_MS / 3));
      const b = await host.invoke("echo", req("from B", "bob"), {
        queue: "notebook-b",
        principal: "user:bob",
        onStart: () => starts.push("notebook-b"),
      });
      stopA.abort(new Error("the test is done"));
      const results = await Promise.all(a);
      assert.equal(outputOf(b).body, "from B");
      // A's two running calls, then B, then A's next one.
      assert.deepEqual(starts.slice(0, 3), ["notebook-a#0", "notebook-a#1", "notebook-b"]);
      const ran = results.filter((r): r is InvokeResult => !("cancelled" in r));
      const slowest = Math.min(...ran.map((r) => r.pluginMs ?? 0));
      assert.ok(slowest >= SLOW_MS, `a slow run took ${slowest} ms on its worker`);
      assert.ok(
        (b.queueWaitMs ?? Number.POSITIVE_INFINITY) < slowest,
        `B waited ${b.queueWaitMs} ms; one of A's runs takes ${slowest} ms`,
      );
      // The runs of A still waiting were cancelled: they never ran and rejected with the reason.
      const cancelled = results.filter((r) => "cancelled" in r);
      assert.ok(cancelled.length >= 40, `${cancelled.length} of A's runs were cancelled`);
      for (const c of cancelled) assert.equal((c as { cancelled: Error }).cancelled.message, "the test is done");
      assert.equal(starts.filter((s) => s.startsWith("notebook-a")).length, ran.length);
    });
  });

  it("by default one notebook never holds every worker, so another notebook's call does not wait at all", async () => {
    await withSlowAndEcho({}, async (host) => {
      const stopA = new AbortController();
      const starts: string[] = [];
      const a = flood(host, 10, { queue: "notebook-a", principal: "user:ada", signal: stopA.signal }, starts);
      while (starts.length < 1) await new Promise((r) => setTimeout(r, 5));
      const b = await host.invoke("echo", req("quick"), { queue: "notebook-b", principal: "user:bob" });
      const stillFirst = starts.length;
      stopA.abort(new Error("done"));
      await Promise.all(a);
      assert.equal(outputOf(b).body, "quick");
      assert.equal(stillFirst, 1, "B ran while A's first run still held the other worker");
      assert.ok((b.queueWaitMs ?? 1e9) < SLOW_MS, `B waited ${b.queueWaitMs} ms`);
    });
  });

  it("one principal is held to its limit across notebooks; other people go ahead", async () => {
    await withSlowAndEcho({ maxRunningPerQueue: 2, maxRunningPerPrincipal: 1 }, async (host) => {
      const starts: string[] = [];
      const stop = new AbortController();
      const a1 = flood(host, 5, { queue: "n1", principal: "user:ada", signal: stop.signal }, starts);
      const a2 = flood(host, 5, { queue: "n2", principal: "user:ada", signal: stop.signal }, starts);
      while (starts.length < 1) await new Promise((r) => setTimeout(r, 5));
      const bob = await host.invoke("echo", req("bob's"), { queue: "n1", principal: "user:bob" });
      const adaRunning = starts.length;
      stop.abort(new Error("done"));
      await Promise.all([...a1, ...a2]);
      assert.equal(outputOf(bob).body, "bob's");
      assert.equal(adaRunning, 1, "ada's second run waits for her first, bob's goes ahead");
    });
  });

  it("people's runs start before the server's (refresh, autorun)", async () => {
    await withSlowAndEcho({ poolSize: 1 }, async (host) => {
      const order: string[] = [];
      const { done: busy } = await busyWith(host, { queue: "x", principal: "p:x" });
      const refreshes = [1, 2, 3].map((i) =>
        host.invoke("echo", req("r"), {
          queue: `n${i}`,
          principal: "server:refresh",
          priority: "server",
          onStart: () => order.push(`refresh ${i}`),
        }),
      );
      const person = host.invoke("echo", req("p"), {
        queue: "n9",
        principal: "user:ada",
        onStart: () => order.push("person"),
      });
      await Promise.all([busy, person, ...refreshes]);
      assert.equal(order[0], "person");
      assert.deepEqual(order.slice(1).sort(), ["refresh 1", "refresh 2", "refresh 3"]);
    });
  });

  it("says how many calls are ahead while a call waits, and lets it be cancelled", async () => {
    await withSlowAndEcho({ poolSize: 1 }, async (host) => {
      const { done: busy } = await busyWith(host, { queue: "a", principal: "p:a" });
      const others = [1, 2].map((i) => host.invoke("echo", req("x"), { queue: `q${i}`, principal: `p${i}` }));
      const aheads: number[] = [];
      const cancel = new AbortController();
      const mine = host.invoke("echo", req("mine"), {
        queue: "mine",
        principal: "p:me",
        signal: cancel.signal,
        onQueued: (n) => aheads.push(n),
        onStart: () => aheads.push(-1),
      });
      await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(aheads, [2]);
      cancel.abort(new DOMException("the editor cancelled the run", "AbortError"));
      await assert.rejects(mine, { name: "AbortError", message: "the editor cancelled the run" });
      await Promise.all([busy, ...others]);
      assert.deepEqual(aheads, [2], "a cancelled call never starts");
      // A signal already aborted: the call is not even queued.
      await assert.rejects(
        host.invoke("echo", req("x"), { queue: "q", principal: "p", signal: AbortSignal.abort(new Error("too late")) }),
        { message: "too late" },
      );
    });
  });

  it("a fast-lane call does not wait behind runs, and a flood of them does not hold back a run", async () => {
    await withSlowAndEcho({ poolSize: 1, fastWorkers: 1 }, async (host) => {
      const { done: busy } = await busyWith(host, { queue: "a", principal: "p:a" });
      const queuedRun = host.invoke("slow", req("S0"), { queue: "b", principal: "p:b" });
      const fast = await host.invoke("echo", req("preview"), { queue: "c", principal: "p:c", lane: "fast" });
      assert.equal(outputOf(fast).body, "preview");
      assert.ok((fast.queueWaitMs ?? 1e9) < SLOW_MS, `the fast call waited ${fast.queueWaitMs} ms`);
      const flood = Array.from({ length: 200 }, () =>
        host.invoke("echo", req("f"), { queue: "c", principal: "p:c", lane: "fast" }),
      );
      const [, run] = await Promise.all([busy, queuedRun]);
      await Promise.all(flood);
      assert.ok(
        (run.queueWaitMs ?? 1e9) < SLOW_MS * 2,
        `the run behind one slow run waited ${run.queueWaitMs} ms with 200 fast calls queued`,
      );
    });
  });

  it("loading's fast worker stops once loading is done; the next fast call starts one again", async () => {
    // a fresh cache: describe() of both plugins runs on the fast lane while loading
    const cacheDir = await mkdtemp(join(tmpdir(), "databook-fast-stop-"));
    await withSlowAndEcho({ poolSize: 1, fastWorkers: 1, cacheDir }, async (host) => {
      assert.equal(host.list().plugins.length, 2);
      assert.deepEqual(host.backlog().fast, { waiting: 0, running: 0, workers: 0 });
      assert.equal(host.backlog().run.workers, 1);
      const fast = await host.invoke("echo", req("preview"), { queue: "c", principal: "p:c", lane: "fast" });
      assert.equal(outputOf(fast).body, "preview");
      assert.equal(host.backlog().fast.workers, 1, "a fast worker idles after a fast call");
    }).finally(() => rm(cacheDir, { recursive: true, force: true }));
  });
});

describe("scheduler", () => {
  it("serves queues round robin, each queue in order, within the limits", () => {
    const s = createScheduler<string>({ perQueue: 10, perPrincipal: 10, server: 10 });
    for (const job of ["a1", "a2", "a3"]) s.add({ job, queue: "a", principal: "pa", priority: "person" });
    for (const job of ["b1", "b2"]) s.add({ job, queue: "b", principal: "pb", priority: "person" });
    s.add({ job: "c1", queue: "c", principal: "pc", priority: "person" });
    const order: string[] = [];
    for (let t = s.take(); t; t = s.take()) order.push(t.job);
    assert.deepEqual(order, ["a1", "b1", "c1", "a2", "b2", "a3"]);
  });

  it("holds a queue, a principal and the server's calls to their limits until calls finish", () => {
    const s = createScheduler<string>({ perQueue: 1, perPrincipal: 1, server: 1 });
    s.add({ job: "a1", queue: "a", principal: "ada", priority: "person" });
    s.add({ job: "a2", queue: "a", principal: "bob", priority: "person" });
    s.add({ job: "b1", queue: "b", principal: "ada", priority: "person" });
    s.add({ job: "r1", queue: "r", principal: "server", priority: "server" });
    s.add({ job: "r2", queue: "s", principal: "server2", priority: "server" });
    const first = s.take()!;
    assert.equal(first.job, "a1");
    // a is at its limit (a2 waits), ada too (b1 waits): the server's first call goes ahead.
    const second = s.take()!;
    assert.equal(second.job, "r1");
    assert.equal(s.take(), undefined, "r2 waits: one server call at a time");
    s.finish(first);
    // b was never served, so it goes before a (served once).
    assert.deepEqual([s.take()!.job, s.take()!.job], ["b1", "a2"]);
    s.finish(second);
    assert.equal(s.take()!.job, "r2");
    assert.deepEqual(s.size(), { waiting: 0, running: 3 });
  });

  it("takes a cancelled call out, and drains every waiting call on close", () => {
    const s = createScheduler<string>({ perQueue: 1, perPrincipal: 1, server: 1 });
    const t1 = s.add({ job: "1", queue: "a", principal: "p", priority: "person" });
    const t2 = s.add({ job: "2", queue: "a", principal: "p", priority: "person" });
    assert.equal(s.remove(t2), true);
    assert.equal(s.remove(t2), false);
    assert.equal(s.take(), t1);
    assert.equal(s.remove(t1), false, "a running call cannot be taken out");
    s.add({ job: "3", queue: "b", principal: "q", priority: "server" });
    assert.deepEqual(
      s.drain().map((t) => t.job),
      ["3"],
    );
  });
});
