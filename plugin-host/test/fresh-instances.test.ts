import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { configToml, fixture, outputOf, withHost } from "./helpers.ts";

let probe: string;
let state: string;
before(async () => {
  probe = await fixture("probe");
  state = await fixture("state-wat");
});

const req = (input: string) => ({ input, options: [] as [string, string][], user: "tester" });

// The pool settings the benchmark uses: the default pool size, pre-instantiation on.
describe("every call gets a fresh instance", () => {
  it("a TypeScript global counter reads 1 on every call", async () => {
    await withHost([{ folder: "p", config: configToml("probe"), wasm: probe }], {}, async (host) => {
      const sequential: string[] = [];
      for (let i = 0; i < 8; i++) sequential.push(outputOf(await host.invoke("probe", req("counter"))).body);
      const concurrent = (await Promise.all(Array.from({ length: 8 }, () => host.invoke("probe", req("counter"))))).map(
        (r) => outputOf(r).body,
      );
      assert.deepEqual([...sequential, ...concurrent], Array(16).fill("1"));
    });
  });

  it("a WAT component that changes a global, a table slot and memory sees a never-used instance's state on the next call", async () => {
    const spec = [{ folder: "s", config: configToml("state"), wasm: state }];
    // What a never-used instance reports: the first call of a newly opened host, pool of one.
    const pristine = await withHost(
      spec,
      { poolSize: 1 },
      async (host) => outputOf(await host.invoke("state", req("x"))).body,
    );
    assert.equal(pristine, "g=00000007 t=00000001 m=00000000 d=41544144 p=00000001");
    await withHost(spec, {}, async (host) => {
      // Each call changes all of it (global + 1, slot 0 → another function, memory inside and
      // outside the data image, one more page); none of that may be visible to any later call,
      // whichever worker or pre-made instance serves it.
      for (let i = 0; i < 10; i++) assert.equal(outputOf(await host.invoke("state", req("x"))).body, pristine);
      const burst = await Promise.all(Array.from({ length: 10 }, () => host.invoke("state", req("x"))));
      for (const r of burst) assert.equal(outputOf(r).body, pristine);
    });
    // And when every instance is made on demand (the benchmark's case b).
    await withHost(spec, { preinstantiate: false }, async (host) => {
      for (let i = 0; i < 5; i++) assert.equal(outputOf(await host.invoke("state", req("x"))).body, pristine);
    });
  });
});
