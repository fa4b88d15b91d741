// Capabilities through the host with a real component (test/fixtures/capable): detection at
// load, action previews and completions in fresh instances on the fast lane, their checks and
// limits, and the boundary they add — a preview or a completion may only read (GET and HEAD).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { PluginHost } from "../src/index.ts";
import { configToml, errorOf, fixture, startServer, withHost } from "./helpers.ts";

let capable: string;
let server: Awaited<ReturnType<typeof startServer>>;
/** Requests the loopback server received: "METHOD /path". */
const received: string[] = [];
before(async () => {
  capable = await fixture("capable");
  server = await startServer((req, res) => {
    received.push(`${req.method} ${req.url}`);
    req.resume();
    req.on("end", () => res.end(`seen ${req.method}`));
  });
});
after(() => server.close());

const config = (extra = "", limits = "") =>
  configToml(
    "capable",
    `allowed_env_vars = ["CAPABLE_TOKEN"]\nallowed_hosts = ["http://127.0.0.1:${server.port}"]\n${extra}`,
    limits,
  );

const env = { CAPABLE_TOKEN: "tok-sekrit-123" };

/** A host with the capable plugin (one run worker, one fast worker, a 1 s fast deadline). */
function withCapable<T>(fn: (host: PluginHost) => Promise<T>, limits = ""): Promise<T> {
  return withHost(
    [{ folder: "capable", config: config("", limits), wasm: capable }],
    { env, poolSize: 1, fastWorkers: 1, fastTimeoutMs: 1000 },
    fn,
  );
}

const req = (input: string, user = "Ada Lovelace") => ({
  input,
  options: [["act", "yes"]] as [string, string][],
  user,
  timeRange: { startMs: 1_000, endMs: 2_000 },
});

const previewOf = async (host: PluginHost, input: string) => {
  const r = await host.preview("capable", req(input));
  if (!r.ok) throw new Error(`preview failed: ${r.error.kind}: ${r.error.message}`);
  return r.preview;
};

const names = (host: PluginHost, prefix: string) =>
  host.complete("capable", { query: { kind: "metric-names", prefix }, options: [] });

describe("capabilities", () => {
  it("are detected from the component's exports at load; a reserved option name gets a load warning", () =>
    withCapable(async (host) => {
      const info = host.list().plugins.find((p) => p.name === "capable");
      assert.deepEqual(info?.capabilities, ["action-preview", "completion"]);
      assert.equal(info?.warnings.length, 1);
      assert.match(info?.warnings[0] ?? "", /option named @legend, which Databook reserves for itself .*rename it/);
    }));

  it("a preview gets exactly the request invoke would get, in a fresh instance each time", () =>
    withCapable(async (host) => {
      const p = await previewOf(host, "echo");
      assert.equal(p.summary, "would act on echo");
      const [[label, text]] = p.details as [[string, string]];
      assert.equal(label, "line 1");
      const seen = JSON.parse(text);
      assert.equal(seen.input, "echo");
      assert.deepEqual(seen.options, [["act", "yes"]]);
      assert.equal(seen.user, "Ada Lovelace");
      assert.deepEqual(seen.timeRange, { startMs: "1000n", endMs: "2000n" });
      assert.deepEqual((await previewOf(host, "counter")).details, [["line 1", "1"]]);
      assert.deepEqual((await previewOf(host, "counter")).details, [["line 1", "1"]], "nothing survives a call");
    }));

  it("a preview may read (GET) from an allowed host, and secrets are scrubbed from what it says", () =>
    withCapable(async (host) => {
      received.length = 0;
      const p = await previewOf(host, `get http://127.0.0.1:${server.port}/silences`);
      assert.deepEqual(p.details, [["line 1", "200 seen GET"]]);
      assert.deepEqual(received, ["GET /silences"]);
      const s = await previewOf(host, "secret CAPABLE_TOKEN");
      assert.deepEqual(s.details, [["line 1", "value [redacted]"]]);
      assert.deepEqual(s.warnings, ["warning has [redacted]"]);
    }));

  it("attack: a preview or a completion that sends POST, DELETE or PUT is denied and nothing reaches the server", () =>
    withCapable(async (host) => {
      received.length = 0;
      for (const method of ["POST", "DELETE", "PUT"]) {
        const url = `http://127.0.0.1:${server.port}/api/v2/silences`;
        const p = errorOf(await host.preview("capable", req(`send ${method} ${url}`)));
        assert.equal(p.kind, "denied");
        assert.match(p.message, new RegExp(`an action preview may only read, but the plugin tried to send ${method}`));
        const c = errorOf(await names(host, `send ${method} ${url}`));
        assert.equal(c.kind, "denied");
        assert.match(c.message, /a completion may only read/);
      }
      assert.deepEqual(received, [], "no request reached the server");
      const ok = await previewOf(host, `send HEAD http://127.0.0.1:${server.port}/head`);
      assert.deepEqual(ok.details, [["line 1", "200 "]]);
      assert.deepEqual(received, ["HEAD /head"]);
      // the same plugin's run may still act
      const run = await host.invoke("capable", { input: "x", options: [], user: "ada" });
      assert.equal(run.ok, true);
    }));

  it("attack: a preview outside the allow-list is denied like a run", () =>
    withCapable(async (host) => {
      const e = errorOf(await host.preview("capable", req("get http://127.0.0.2:9/elsewhere")));
      assert.equal(e.kind, "denied");
      assert.match(e.message, /allowed_hosts/);
    }));

  it("a preview that hangs ends at the fast lane's deadline, while a long run keeps its own worker", () =>
    withCapable(async (host) => {
      const run = host.invoke("capable", { input: "spin 2500", options: [], user: "ada" });
      const started = Date.now();
      const p = errorOf(await host.preview("capable", req("loop")));
      assert.equal(p.kind, "timeout");
      assert.match(p.message, /did not finish within 1000 ms \(a short call may take at most 1000 ms\)/);
      assert.ok(Date.now() - started < 2400, "the preview did not wait for the run");
      assert.equal((await run).ok, true, "the run was not disturbed");
    }, "timeout_ms = 10000"));

  it("a preview's errors, wrong shapes and sizes are typed", () =>
    withCapable(async (host) => {
      assert.deepEqual(errorOf(await host.preview("capable", req("fail bad-input no matchers"))), {
        kind: "bad-input",
        message: "no matchers",
      });
      const thrown = errorOf(await host.preview("capable", req("throw kaput")));
      assert.equal(thrown.kind, "internal");
      assert.match(thrown.message, /kaput/);
      const shape = errorOf(await host.preview("capable", req("bad-shape")));
      assert.equal(shape.kind, "internal");
      assert.match(shape.message, /the plugin crashed/);
      const many = errorOf(await host.preview("capable", req("many 101")));
      assert.equal(many.kind, "output-limit");
      assert.match(many.message, /101 details; a preview may have at most 100/);
      const huge = errorOf(await host.preview("capable", req("huge 70000")));
      assert.equal(huge.kind, "output-limit");
      assert.match(huge.message, /over the limit of 65536 bytes \(a preview is shown in a dialog\)/);
    }));

  it("a preview counts against max_http_requests and max_output_bytes like a run", () =>
    withCapable(async (host) => {
      const e = errorOf(await host.preview("capable", req(`get http://127.0.0.1:${server.port}/x`)));
      assert.equal(e.kind, "too-many-requests");
      const huge = errorOf(await host.preview("capable", req("huge 3000")));
      assert.equal(huge.kind, "output-limit");
      assert.match(huge.message, /limits\.max_output_bytes/);
    }, "max_http_requests = 0\nmax_output_bytes = 2048"));

  it("a completion gets the query as the WIT variant, with the cell's options and range", () =>
    withCapable(async (host) => {
      const r = await host.complete("capable", {
        query: {
          kind: "label-values",
          label: "job",
          metric: "http_requests_total",
          matchers: [{ name: "env", op: "re", value: 'pr"od.*' }],
        },
        options: [["source", "eu"]],
        timeRange: { startMs: 5, endMs: 6 },
        requestId: "req-1",
      });
      assert.ok(r.ok, JSON.stringify(r));
      const seen = JSON.parse(r.completion.values[0]!);
      assert.deepEqual(seen, {
        query: {
          tag: "label-values",
          val: { label: "job", metric: "http_requests_total", matchers: [{ name: "env", op: "re", value: 'pr"od.*' }] },
        },
        options: [["source", "eu"]],
        timeRange: { startMs: "5n", endMs: "6n" },
        requestId: "req-1",
      });
      const meta = await host.complete("capable", { query: { kind: "metadata" }, options: [] });
      assert.ok(meta.ok);
      assert.deepEqual(meta.completion.metadata, [{ metric: "m", kind: "counter", help: "", unit: "" }]);
      const many = await names(host, "many 3");
      assert.ok(many.ok);
      assert.deepEqual(many.completion, { values: ["v000000", "v000001", "v000002"], metadata: [], truncated: false });
    }));

  it("a completion's secrets are scrubbed and its size is bounded by max_output_bytes", () =>
    withCapable(async (host) => {
      const s = await names(host, "secret CAPABLE_TOKEN");
      assert.ok(s.ok);
      assert.deepEqual(s.completion.values, ["value [redacted]"]);
      const big = errorOf(await names(host, "many 500"));
      assert.equal(big.kind, "output-limit");
      assert.match(big.message, /completion is 3500 bytes, over the limit of 2048 bytes/);
      const shape = errorOf(await names(host, "bad-shape"));
      assert.equal(shape.kind, "internal");
    }, "max_output_bytes = 2048"));

  it("a completion query of the wrong shape is refused before the plugin runs", () =>
    withCapable(async (host) => {
      const cases: [unknown, RegExp][] = [
        [{ kind: "series" }, /query\.kind must be one of metric-names, label-names, label-values, metadata/],
        [{ kind: "label-values" }, /query\.label must be a string/],
        [{ kind: "metric-names", label: "x" }, /a metric-names query takes prefix; remove label/],
        [{ kind: "label-values", label: "a", matchers: [{ name: "x", op: "like", value: "" }] }, /op one of eq, neq/],
        [{ kind: "metric-names", prefix: "x".repeat(2000) }, /longer than 1024 characters/],
      ];
      for (const [query, want] of cases) {
        const e = errorOf(await host.complete("capable", { query: query as never, options: [] }));
        assert.equal(e.kind, "bad-input");
        assert.match(e.message, want);
      }
    }));
});
