import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { parse } from "@bytecodealliance/jco";
import { configToml, errorOf, fixture, outputOf, withHost } from "./helpers.ts";

let echoWat: string;
let probe: string;
let notAPlugin: string;
let coreModule: string;
before(async () => {
  coreModule = join(await mkdtemp(join(tmpdir(), "databook-core-")), "core.wasm");
  await writeFile(coreModule, await parse('(module (func (export "invoke")))'));
  echoWat = await fixture("echo-wat");
  probe = await fixture("probe");
  notAPlugin = await fixture("not-a-plugin-wat");
});

const req = (input: string) => ({ input, options: [] as [string, string][], user: "tester" });

describe("loading a plugins directory", () => {
  it("reports each broken folder with its own reason and still loads the good ones", async () => {
    await withHost(
      [
        { folder: "a-good", config: configToml("good"), wasm: echoWat },
        { folder: "bad-toml", config: 'name = "bad-toml\n', wasm: echoWat },
        { folder: "unknown-field", config: `${configToml("unknown-field")}colour = "red"\n`, wasm: echoWat },
        { folder: "missing-wasm", config: configToml("missing-wasm") },
        { folder: "not-wasm", config: configToml("not-wasm"), wasm: join(import.meta.dirname, "helpers.ts") },
        { folder: "wrong-world", config: configToml("wrong-world"), wasm: notAPlugin },
        { folder: "core-module", config: configToml("core-module"), wasm: coreModule },
        { folder: "too-little-memory", config: configToml("too-little-memory", "", "memory_mb = 4"), wasm: probe },
        { folder: "z-duplicate", config: configToml("good"), wasm: echoWat },
      ],
      {},
      async (host, dir) => {
        const { plugins, broken } = host.list();
        assert.deepEqual(
          plugins.map((p) => [p.name, p.description, p.version, p.contentTypes]),
          [["good", "Echo written in WAT.", "0.0.1", ["text/plain"]]],
        );
        const reasons = Object.fromEntries(broken.map((b) => [b.dir.slice(dir.length + 1), b.reason]));
        assert.match(reasons["bad-toml"]!, /^config\.toml: not valid TOML at line 1, column \d+: /);
        // A [limits] table follows the stray key in configToml, so TOML puts it there.
        assert.equal(
          reasons["unknown-field"],
          'config.toml: unknown key "limits.colour" (known keys: limits.timeout_ms, limits.memory_mb, limits.max_output_bytes, limits.max_http_requests, limits.max_request_bytes)',
        );
        assert.equal(
          reasons["missing-wasm"],
          "plugin.wasm is missing: build it (npm run build in the plugin folder, or turbo run build at the root)",
        );
        assert.match(
          reasons["not-wasm"]!,
          /^plugin\.wasm is not a WebAssembly file \(it does not start with the \\0asm signature\); rebuild it$/,
        );
        assert.equal(
          reasons["wrong-world"],
          'plugin.wasm does not implement the databook:plugin world: it does not export describe and invoke (build it against wit/plugin.wit, world "plugin")',
        );
        assert.match(
          reasons["too-little-memory"]!,
          /^limits\.memory_mb = 4 is below the (\d+) MiB of linear memory this component needs to start; set limits\.memory_mb to at least \1$/,
        );
        assert.equal(
          reasons["z-duplicate"],
          `the name "good" is already used by the plugin in ${join(dir, "a-good")}; give this plugin another name in its config.toml`,
        );
        assert.equal(
          reasons["core-module"],
          "plugin.wasm is a core WebAssembly module, not a component: build it with databook-build-plugin, or wrap a core module with jco new",
        );
        assert.equal(Object.keys(reasons).length, 8);

        assert.equal(outputOf(await host.invoke("good", req("still works"))).body, "still works");
        const broke = errorOf(await host.invoke("wrong-world", req("x")));
        assert.equal(broke.kind, "plugin-broken");
        assert.equal(broke.message, `plugin "wrong-world" could not be loaded: ${reasons["wrong-world"]}`);
        assert.deepEqual(errorOf(await host.invoke("nope", req("x"))), {
          kind: "not-found",
          message:
            'no plugin named "nope" is loaded (loaded: good); run "databook plugins list" to see every plugin and why any failed to load',
        });
      },
    );
  });

  it("lists a top-level unknown key and a bad limit as two problems of one folder", async () => {
    await withHost(
      [{ folder: "p", config: `colour = "red"\n${configToml("two-problems", "", "timeout_ms = 0")}`, wasm: echoWat }],
      {},
      async (host) => {
        assert.deepEqual(
          host.list().broken.map((b) => [b.name, b.reason]),
          [
            [
              "two-problems",
              'config.toml has 2 problems:\n  - unknown key "colour" (known keys: name, description, version, allowed_env_vars, public_env_vars, allowed_hosts, [limits])\n  - "limits.timeout_ms" must be a whole number from 1 to 300000 (deadline of one call in milliseconds), not 0',
            ],
          ],
        );
      },
    );
  });

  it("passes options, time range, user and request id to the plugin as the WIT request", async () => {
    await withHost([{ folder: "p", config: configToml("probe"), wasm: probe }], {}, async (host) => {
      const r = await host.invoke("probe", {
        input: "request",
        options: [
          ["a", "1"],
          ["b", "two words"],
          ["a", "again"],
        ],
        timeRange: { startMs: 1_700_000_000_000, endMs: 1_700_000_060_000, stepMs: 15_000 },
        user: "Ada",
        requestId: "r-1",
      });
      assert.deepEqual(JSON.parse(outputOf(r).body), {
        input: "request",
        options: [
          ["a", "1"],
          ["b", "two words"],
          ["a", "again"],
        ],
        timeRange: { startMs: "1700000000000n", endMs: "1700000060000n", stepMs: "15000n" },
        user: "Ada",
        requestId: "r-1",
      });
      assert.equal(r.requestId, "r-1");
      const noRange = JSON.parse(outputOf(await host.invoke("probe", req("request"))).body);
      assert.equal(noRange.timeRange, undefined);
      assert.match(noRange.requestId, /^[0-9a-f-]{36}$/, "a request id is generated when absent");
      assert.deepEqual(errorOf(await host.invoke("probe", { ...req("x"), timeRange: { startMs: 10, endMs: 5 } })), {
        kind: "bad-input",
        message: "the time range ends before it starts: check the start and end",
      });
    });
  });
});
