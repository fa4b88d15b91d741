import assert from "node:assert/strict";
import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { createPluginHost } from "../src/index.ts";
import { CACHE_DIR, configToml, errorOf, eventually, fixture, writeFolder } from "./helpers.ts";

let echoWat: string;
let state: string;
before(async () => {
  echoWat = await fixture("echo-wat");
  state = await fixture("state-wat");
});

const req = (input: string) => ({ input, options: [] as [string, string][], user: "tester" });

describe("hot reload", () => {
  it("picks up a plugin folder added, changed and removed while the host runs", async () => {
    const dir = await mkdtemp(join(tmpdir(), "databook-hot-"));
    const host = await createPluginHost({ pluginsDir: dir, cacheDir: CACHE_DIR, env: {}, watch: true });
    try {
      assert.deepEqual(host.list(), { plugins: [], broken: [], loading: [] });

      // Added.
      const folder = await writeFolder(dir, { folder: "hot", config: configToml("hot"), wasm: echoWat });
      await eventually("the added plugin to load", () => host.list().plugins.some((p) => p.name === "hot"));
      const added = await host.invoke("hot", req("hello"));
      assert.equal(added.ok && added.output.body, "hello");

      // Changed: a new build of the component.
      await copyFile(state, join(folder, "plugin.wasm"));
      await eventually("the changed plugin to be used", async () => {
        const r = await host.invoke("hot", req("hello"));
        return r.ok && r.output.body.startsWith("g=00000007");
      });
      // Changed: a config that no longer validates makes it broken, with the reason.
      await writeFile(join(folder, "config.toml"), `${configToml("hot")}bogus = 1\n`);
      await eventually("the broken config to be reported", () => host.list().broken.some((b) => b.name === "hot"));
      assert.equal(errorOf(await host.invoke("hot", req("hello"))).kind, "plugin-broken");

      // Removed.
      await rm(folder, { recursive: true });
      await eventually(
        "the removed plugin to disappear",
        () => host.list().plugins.length === 0 && host.list().broken.length === 0,
      );
      assert.equal(errorOf(await host.invoke("hot", req("hello"))).kind, "not-found");
    } finally {
      await host.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
