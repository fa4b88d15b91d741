// A plugin built before the contract had capabilities (test/frozen/sdk-0.1-plugin, kept byte for
// byte) still loads, describes itself and runs on today's host, and reports no capabilities;
// asking it for a capability is a clear bad-input, not a crash.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { createPluginHost, type PluginHost } from "../src/index.ts";
import { CACHE_DIR, errorOf, fixture, outputOf, writeFolder } from "./helpers.ts";

const FROZEN = new URL("./frozen/sdk-0.1-plugin/", import.meta.url).pathname;

let dir: string;
let host: PluginHost;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "databook-old-plugins-"));
  const folder = join(dir, "frozen");
  await cp(FROZEN, folder, { recursive: true });
  const wasm = gunzipSync(await readFile(join(FROZEN, "plugin.wasm.gz")));
  const want = (await readFile(join(FROZEN, "plugin.wasm.sha256"), "utf8")).trim();
  assert.equal(createHash("sha256").update(wasm).digest("hex"), want, "the frozen plugin.wasm is the one built then");
  await writeFile(join(folder, "plugin.wasm"), wasm);
  await writeFolder(dir, {
    folder: "echo-wat",
    config: 'name = "echo-wat"\ndescription = "WAT echo."\nversion = "0.0.1"\n',
    wasm: await fixture("echo-wat"),
  });
  host = await createPluginHost({ pluginsDir: dir, watch: false, cacheDir: CACHE_DIR, env: {}, poolSize: 1 });
});
after(async () => {
  await host.close();
  await rm(dir, { recursive: true, force: true });
});

describe("plugins built before capabilities", () => {
  it("load with their description and no capabilities", () => {
    const { plugins, broken } = host.list();
    assert.deepEqual(broken, []);
    const frozen = plugins.find((p) => p.name === "frozen");
    assert.ok(frozen, "the frozen plugin loaded");
    assert.equal(frozen.version, "0.1.0");
    assert.deepEqual(
      frozen.options.map((o) => [o.name, o.action]),
      [
        ["shout", false],
        ["act", true],
      ],
    );
    assert.deepEqual(frozen.capabilities, []);
    assert.deepEqual(frozen.warnings, []);
    assert.deepEqual(plugins.find((p) => p.name === "echo-wat")?.capabilities, []);
  });

  it("run as before, options and typed errors included", async () => {
    const out = outputOf(
      await host.invoke("frozen", {
        input: "rollback",
        options: [
          ["shout", "yes"],
          ["act", "yes"],
        ],
        user: "ada",
      }),
    );
    assert.equal(out.body, "acted on: ROLLBACK");
    const bad = errorOf(await host.invoke("frozen", { input: "x", options: [["shout", "loud"]], user: "ada" }));
    assert.equal(bad.kind, "bad-input");
    assert.match(bad.message, /@shout="loud" is not valid/);
  });

  it("answer a preview or a completion with bad-input naming the missing export", async () => {
    const p = errorOf(await host.preview("frozen", { input: "x", options: [["act", "yes"]], user: "ada" }));
    assert.equal(p.kind, "bad-input");
    assert.match(p.message, /plugin "frozen" does not offer action previews.*databook:plugin\/action-preview@0\.1\.0/);
    const c = errorOf(await host.complete("echo-wat", { query: { kind: "metric-names" }, options: [] }));
    assert.equal(c.kind, "bad-input");
    assert.match(c.message, /does not offer completion .*capabilities: none/);
  });
});
