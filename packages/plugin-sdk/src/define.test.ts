import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createPlugin, type Runtime } from "./define.ts";
import { PluginError } from "./errors.ts";
import { textOutput } from "./output.ts";
import type { LogLevel, WitPluginError, WitRequest } from "./wit.ts";

/** A runtime backed by a fixed environment that records log lines (the host's side of the WIT). */
function recordingRuntime(env: Record<string, string>) {
  const lines: [LogLevel, string][] = [];
  const runtime: Runtime = { log: (level, message) => lines.push([level, message]), getEnv: (name) => env[name] };
  return { runtime, lines };
}

const request = (over: Partial<WitRequest> = {}): WitRequest => ({
  input: "",
  options: [],
  user: "alice",
  requestId: "r1",
  ...over,
});

async function witErrorOf(promise: Promise<unknown>): Promise<WitPluginError> {
  try {
    await promise;
  } catch (err) {
    return err as WitPluginError;
  }
  assert.fail("expected the call to fail");
}

const describeDoc = {
  description: "test plugin",
  version: "1.0.0",
  options: [
    { name: "mode", description: "a mode" },
    { name: "go", description: "does it", action: true },
  ],
  contentTypes: ["text/plain"],
};

describe("createPlugin", () => {
  it("describes the plugin with action defaulting to false", () => {
    const plugin = createPlugin({ describe: describeDoc, invoke: () => textOutput("") }, recordingRuntime({}).runtime);
    assert.deepEqual(plugin.describe().options, [
      { name: "mode", description: "a mode", action: false },
      { name: "go", description: "does it", action: true },
    ]);
  });

  it("passes the input, options, user and the time range as numbers", async () => {
    const plugin = createPlugin(
      {
        describe: describeDoc,
        invoke: (call) => textOutput(JSON.stringify({ ...call, options: call.options.entries() })),
      },
      recordingRuntime({}).runtime,
    );
    const out = await plugin.invoke(
      request({
        input: "q",
        options: [["mode", "fast"]],
        timeRange: { startMs: 1000n, endMs: 2000n, stepMs: 10n },
      }),
    );
    assert.deepEqual(JSON.parse(out.body), {
      input: "q",
      options: [["mode", "fast"]],
      user: "alice",
      requestId: "r1",
      timeRange: { startMs: 1000, endMs: 2000, stepMs: 10 },
    });
  });

  it("returns a PluginError as the WIT error with its kind and message", async () => {
    const plugin = createPlugin(
      {
        describe: describeDoc,
        invoke: () => {
          throw new PluginError("upstream", "the server said no");
        },
      },
      recordingRuntime({}).runtime,
    );
    assert.deepEqual(await witErrorOf(plugin.invoke(request())), { kind: "upstream", message: "the server said no" });
  });

  it("rejects undeclared options as bad input before invoking", async () => {
    let called = false;
    const plugin = createPlugin(
      {
        describe: describeDoc,
        invoke: () => {
          called = true;
          return textOutput("");
        },
      },
      recordingRuntime({}).runtime,
    );
    const err = await witErrorOf(plugin.invoke(request({ options: [["mdoe", "x"]] })));
    assert.equal(err.kind, "bad-input");
    assert.match(err.message, /unknown option @mdoe; this plugin accepts @mode, @go/);
    assert.equal(called, false);
  });

  it("turns an unexpected exception into an internal error and logs its stack", async () => {
    const { runtime, lines } = recordingRuntime({});
    const plugin = createPlugin(
      {
        describe: describeDoc,
        invoke: () => {
          throw new TypeError("x is undefined");
        },
      },
      runtime,
    );
    const err = await witErrorOf(plugin.invoke(request()));
    assert.equal(err.kind, "internal");
    assert.match(err.message, /TypeError: x is undefined/);
    assert.equal(lines[0]?.[0], "error");
    assert.match(lines[0]?.[1] ?? "", /at /);
  });

  it("scrubs secrets from the body, warnings, errors and logs", async () => {
    const { runtime, lines } = recordingRuntime({ TOKEN: "tok-123456", URL: "http://x" });
    const echo = createPlugin(
      {
        describe: describeDoc,
        invoke: (call, ctx) => {
          const token = ctx.secret("TOKEN") ?? "";
          ctx.log.info(`using ${token} for ${ctx.env("URL")}`);
          if (call.input === "fail") throw new PluginError("upstream", `rejected ${token}`);
          return textOutput(`body ${token}`, [`warn ${token}`]);
        },
      },
      runtime,
    );
    const out = await echo.invoke(request());
    assert.equal(out.body, "body [redacted]");
    assert.deepEqual(out.warnings, ["warn [redacted]"]);
    assert.deepEqual(lines, [["info", "using [redacted] for http://x"]]);
    const err = await witErrorOf(echo.invoke(request({ input: "fail" })));
    assert.equal(err.message, "rejected [redacted]");
  });

  it("explains a missing required env var", async () => {
    const plugin = createPlugin(
      { describe: describeDoc, invoke: (_call, ctx) => textOutput(ctx.requireEnv("PROM_URL", "Prometheus's URL")) },
      recordingRuntime({}).runtime,
    );
    const err = await witErrorOf(plugin.invoke(request()));
    assert.equal(err.kind, "bad-input");
    assert.match(err.message, /Prometheus's URL is not configured: set PROM_URL .*allowed_env_vars/);
  });

  it("exports no capability for a spec without preview or complete", () => {
    const plugin = createPlugin({ describe: describeDoc, invoke: () => textOutput("") }, recordingRuntime({}).runtime);
    assert.deepEqual(Object.keys(plugin).sort(), ["describe", "invoke"]);
  });

  it("exports actionPreview for preview: the same call as invoke, secrets scrubbed, errors typed", async () => {
    const { runtime } = recordingRuntime({ TOKEN: "tok-123456" });
    const plugin = createPlugin(
      {
        describe: describeDoc,
        invoke: () => textOutput(""),
        preview: (call, ctx) => {
          if (call.input === "bad") throw new PluginError("bad-input", "the body is wrong");
          if (call.input === "boom") throw new RangeError("no");
          return {
            summary: `would go ${call.options.string("go")} for ${call.user}`,
            details: [
              ["range", `${call.timeRange?.startMs}..${call.timeRange?.endMs}`],
              ["token", ctx.secret("TOKEN") ?? ""],
            ],
          };
        },
      },
      runtime,
    );
    assert.deepEqual(Object.keys(plugin).sort(), ["actionPreview", "describe", "invoke"]);
    const p = await plugin.actionPreview.preview(
      request({ options: [["go", "now"]], timeRange: { startMs: 1n, endMs: 2n, stepMs: undefined } }),
    );
    assert.deepEqual(p, {
      summary: "would go now for alice",
      details: [
        ["range", "1..2"],
        ["token", "[redacted]"],
      ],
      warnings: [],
    });
    assert.deepEqual(await witErrorOf(plugin.actionPreview.preview(request({ input: "bad" }))), {
      kind: "bad-input",
      message: "the body is wrong",
    });
    const internal = await witErrorOf(plugin.actionPreview.preview(request({ input: "boom" })));
    assert.equal(internal.kind, "internal");
    assert.match(internal.message, /RangeError: no/);
    const unknown = await witErrorOf(plugin.actionPreview.preview(request({ options: [["mdoe", "x"]] })));
    assert.match(unknown.message, /unknown option @mdoe/, "a preview checks options as the run would");
  });

  it("exports completion for complete: the query in JSON shape, values sorted and deduplicated", async () => {
    const seen: unknown[] = [];
    const plugin = createPlugin(
      {
        describe: describeDoc,
        invoke: () => textOutput(""),
        complete: (call) => {
          seen.push({ ...call, options: call.options.entries() });
          return call.query.kind === "metadata"
            ? { metadata: [{ metric: "up", kind: "gauge", help: "1 when up", unit: "" }] }
            : { values: ["b", "a", "b"], truncated: true };
        },
      },
      recordingRuntime({}).runtime,
    );
    const base = { options: [["half-typed", "x"]] as [string, string][], timeRange: undefined, requestId: "c1" };
    const names = await plugin.completion.complete({ ...base, query: { tag: "metric-names", val: "ht" } });
    assert.deepEqual(names, { values: ["a", "b"], metadata: [], truncated: true });
    const meta = await plugin.completion.complete({ ...base, query: { tag: "metadata", val: undefined } });
    assert.deepEqual(meta.metadata, [{ metric: "up", kind: "gauge", help: "1 when up", unit: "" }]);
    await plugin.completion.complete({
      ...base,
      timeRange: { startMs: 5n, endMs: 6n, stepMs: undefined },
      query: {
        tag: "label-values",
        val: { label: "job", metric: "up", matchers: [{ name: "env", op: "re", value: "prod.*" }] },
      },
    });
    assert.deepEqual(seen, [
      { query: { kind: "metric-names", prefix: "ht" }, options: [["half-typed", "x"]], requestId: "c1" },
      { query: { kind: "metadata" }, options: [["half-typed", "x"]], requestId: "c1" },
      {
        query: {
          kind: "label-values",
          label: "job",
          metric: "up",
          matchers: [{ name: "env", op: "re", value: "prod.*" }],
        },
        options: [["half-typed", "x"]],
        requestId: "c1",
        timeRange: { startMs: 5, endMs: 6 },
      },
    ]);
  });
});
