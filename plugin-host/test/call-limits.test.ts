import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { before, describe, it } from "node:test";
import { configToml, errorOf, fixture, outputOf, withHost } from "./helpers.ts";

let probe: string;
let wasiProbe: string;
before(async () => {
  probe = await fixture("probe");
  wasiProbe = await fixture("wasi-probe-wat");
});

const req = (input: string) => ({ input, options: [] as [string, string][], user: "tester" });

describe("call limits", () => {
  it("stops an infinite loop at its deadline and reports a timeout; the host keeps serving", async () => {
    await withHost(
      [{ folder: "p", config: configToml("probe", "", "timeout_ms = 1000"), wasm: probe }],
      {},
      async (host) => {
        const err = errorOf(await host.invoke("probe", req("loop")));
        assert.equal(err.kind, "timeout");
        assert.equal(err.message, "the plugin did not finish within 1000 ms (limits.timeout_ms in its config.toml)");
        // The worker that ran the loop was replaced; calls still work.
        assert.equal(outputOf(await host.invoke("probe", req("counter"))).body, "1");
      },
    );
  });

  it("fails a memory bomb with memory-limit at limits.memory_mb", async () => {
    await withHost(
      [{ folder: "p", config: configToml("probe", "", "memory_mb = 48"), wasm: probe }],
      {},
      async (host) => {
        const err = errorOf(await host.invoke("probe", req("bomb")));
        assert.equal(err.kind, "memory-limit");
        assert.equal(
          err.message,
          "the plugin ran out of memory: it may use at most 48 MiB (limits.memory_mb in its config.toml)",
        );
        assert.equal(outputOf(await host.invoke("probe", req("counter"))).body, "1");
      },
    );
  });

  it("refuses an output over limits.max_output_bytes with output-limit", async () => {
    await withHost(
      [{ folder: "p", config: configToml("probe", "", "max_output_bytes = 1000"), wasm: probe }],
      {},
      async (host) => {
        const err = errorOf(await host.invoke("probe", req("huge 5000")));
        assert.equal(err.kind, "output-limit");
        assert.equal(
          err.message,
          "the output is 5000 bytes, over this plugin's limit of 1000 bytes (limits.max_output_bytes in its config.toml)",
        );
        assert.equal(outputOf(await host.invoke("probe", req("huge 1000"))).body.length, 1000);
      },
    );
  });

  it("turns a thrown exception into an internal error with the plugin's message", async () => {
    await withHost([{ folder: "p", config: configToml("probe"), wasm: probe }], {}, async (host) => {
      const err = errorOf(await host.invoke("probe", req("throw the disk is on fire")));
      assert.deepEqual(err, { kind: "internal", message: "the disk is on fire" });
    });
  });

  it("passes a typed plugin error through and refuses host-only kinds from plugins", async () => {
    await withHost([{ folder: "p", config: configToml("probe"), wasm: probe }], {}, async (host) => {
      assert.deepEqual(errorOf(await host.invoke("probe", req("fail upstream Prometheus said 503"))), {
        kind: "upstream",
        message: "Prometheus said 503",
      });
      assert.deepEqual(errorOf(await host.invoke("probe", req("fail timeout pretending"))), {
        kind: "internal",
        message: 'the plugin returned error kind "timeout", which only the host may use: pretending',
      });
    });
  });

  it("turns a trap into an internal error naming the trap", async () => {
    await withHost([{ folder: "w", config: configToml("wasi-probe"), wasm: wasiProbe }], {}, async (host) => {
      const err = errorOf(await host.invoke("wasi-probe", req("t")));
      assert.equal(err.kind, "internal");
      assert.equal(
        err.message,
        "the plugin crashed (WebAssembly trap: wasm trap: wasm `unreachable` instruction executed)",
      );
    });
  });

  it("finishes 19 concurrent calls while a runaway holds one worker, at the default pool size", async () => {
    assert.ok(availableParallelism() >= 2, "this test needs a pool of at least two workers");
    await withHost(
      [
        { folder: "runaway", config: configToml("runaway", "", "timeout_ms = 6000"), wasm: probe },
        { folder: "probe", config: configToml("probe"), wasm: probe },
      ],
      {},
      async (host) => {
        const finished: string[] = [];
        const calls = Array.from({ length: 20 }, (_, i) => {
          const name = i === 3 ? "runaway" : "probe";
          return host.invoke(name, req(i === 3 ? "loop" : "counter")).then((r) => {
            finished.push(name);
            return r;
          });
        });
        const results = await Promise.all(calls);
        assert.equal(finished.at(-1), "runaway", "the runaway must be the last call to finish");
        const err = errorOf(results[3]!);
        assert.equal(err.kind, "timeout");
        results.forEach((r, i) => {
          if (i !== 3) assert.equal(outputOf(r).body, "1");
        });
      },
    );
  });
});
