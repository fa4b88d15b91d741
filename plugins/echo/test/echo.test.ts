// Runs the real echo component through the real plugin host: the way to test a plugin.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPluginHost, type PluginHost } from "@databook/plugin-host";
import { buildPlugin } from "@databook/plugin-host/build";

const here = join(import.meta.dirname, "..");
let host: PluginHost;
before(async () => {
  await buildPlugin({ dir: here }); // no-op when plugin.wasm is up to date
  host = await createPluginHost({ pluginsDir: join(here, ".."), only: ["echo"], watch: false, poolSize: 1, env: {} });
});
after(() => host.close());

const call = (input: string, options: [string, string][] = []) =>
  host.invoke("echo", { input, options, user: "tester" });

describe("echo plugin", () => {
  it("describes itself with its options", () => {
    const echo = host.list().plugins.find((p) => p.name === "echo");
    assert.deepEqual(
      echo?.options.map((o) => [o.name, o.action]),
      [
        ["case", false],
        ["repeat", false],
        ["format", false],
      ],
    );
    assert.deepEqual(echo?.contentTypes, ["text/plain", "text/markdown", "application/json"]);
  });

  it("echoes its input as text", async () => {
    const r = await call("hello databook");
    assert.deepEqual(r.ok && r.output, { contentType: "text/plain", body: "hello databook", warnings: [] });
  });

  it("applies case, repeat and format, and warns about options it ignores", async () => {
    const r = await call("Hi", [
      ["case", "upper"],
      ["repeat", "2"],
      ["format", "json"],
      ["colour", "red"],
    ]);
    assert.deepEqual(r.ok && r.output, {
      contentType: "application/json",
      body: '{"input":"HI\\nHI"}',
      warnings: ["echo ignores the option @colour"],
    });
  });

  it("rejects a bad option value as bad-input, saying what is accepted", async () => {
    const r = await call("x", [["repeat", "0"]]);
    assert.deepEqual(!r.ok && r.error, {
      kind: "bad-input",
      message: "@repeat=0 is not valid: use a whole number from 1 to 100",
    });
  });
});
