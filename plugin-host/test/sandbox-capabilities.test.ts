import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import type { PluginLogLine } from "../src/index.ts";
import { CACHE_DIR, configToml, errorOf, fixture, outputOf, withHost } from "./helpers.ts";

let probe: string;
let wasiProbe: string;
before(async () => {
  probe = await fixture("probe");
  wasiProbe = await fixture("wasi-probe-wat");
});

const req = (input: string) => ({ input, options: [] as [string, string][], user: "tester" });
// A server environment with more in it than any plugin may see.
const serverEnv = {
  ALLOWED_TOKEN: "tok-123456",
  DATABASE_PASSWORD: "hunter2-not-for-plugins",
  PATH: "/usr/bin",
  HOME: "/root",
};

describe("sandbox capabilities", () => {
  it("gives an env var not in allowed_env_vars to nobody through the runtime interface, and logs the attempt", async () => {
    await withHost(
      [{ folder: "p", config: configToml("probe", 'allowed_env_vars = ["ALLOWED_TOKEN"]'), wasm: probe }],
      { env: serverEnv },
      async (host) => {
        const r = await host.invoke("probe", req("env DATABASE_PASSWORD"));
        assert.equal(outputOf(r).body, "<none>");
        assert.deepEqual(
          r.logs.map((l) => [l.stream, l.level, l.message]),
          [
            [
              "log",
              "warn",
              "host: the plugin asked for env var DATABASE_PASSWORD, which is not in allowed_env_vars; it got nothing",
            ],
          ],
        );
        // The allowed one is readable (and scrubbed from the output, being a secret).
        assert.equal(outputOf(await host.invoke("probe", req("env ALLOWED_TOKEN"))).body, "value:[redacted]");
      },
    );
  });

  it("reports allowed env vars that are unset once when the plugin loads, not on every call", async () => {
    const seen: PluginLogLine[] = [];
    const config = configToml("probe", 'allowed_env_vars = ["ALLOWED_TOKEN", "OPTIONAL_USER", "OPTIONAL_PASSWORD"]');
    await withHost(
      [{ folder: "p", config, wasm: probe }],
      { env: serverEnv, onLog: (l) => seen.push(l) },
      async (host) => {
        const note =
          "allowed env vars OPTIONAL_USER, OPTIONAL_PASSWORD are not set in the server's environment; the plugin reads them as unset";
        assert.deepEqual(host.list().plugins[0]?.warnings, [note]);
        assert.deepEqual(
          seen.map((l) => [l.plugin, l.level, l.message]),
          [["probe", "info", `host: ${note}`]],
        );
        for (let i = 0; i < 3; i++) {
          const r = await host.invoke("probe", req("env OPTIONAL_PASSWORD"));
          assert.equal(outputOf(r).body, "<none>");
          assert.deepEqual(r.logs, []);
        }
        assert.equal(seen.length, 1, "no line per call for an allowed variable that is unset");
      },
    );
  });

  it("shows the value of a public env var, but not the user info of a URL in it", async () => {
    const config = configToml(
      "probe",
      'allowed_env_vars = ["API_URL", "PLAIN_URL", "ALLOWED_TOKEN"]\npublic_env_vars = ["API_URL", "PLAIN_URL"]',
    );
    await withHost(
      [{ folder: "p", config, wasm: probe }],
      {
        env: {
          ...serverEnv,
          API_URL: "https://ops:s3cret-pass@api.test:8443/base",
          PLAIN_URL: "http://prometheus.test:9090/prom",
        },
      },
      async (host) => {
        assert.equal(
          outputOf(await host.invoke("probe", req("env PLAIN_URL"))).body,
          "value:http://prometheus.test:9090/prom",
        );
        const r = await host.invoke("probe", req("secret API_URL"));
        const out = outputOf(r);
        assert.equal(
          out.body,
          '{"secret":"https://[redacted]@api.test:8443/base","raw":"https://[redacted]@api.test:8443/base"}',
        );
        assert.deepEqual(out.warnings, ["warning has https://[redacted]@api.test:8443/base"]);
        assert.equal(JSON.stringify(r).includes("s3cret-pass"), false);
        // Variables not listed in public_env_vars stay secret.
        assert.equal(outputOf(await host.invoke("probe", req("env ALLOWED_TOKEN"))).body, "value:[redacted]");
      },
    );
  });

  it("shows wasi:cli/environment only the allowed env vars, not the server's environment", async () => {
    await withHost(
      [
        {
          folder: "w",
          config: configToml("wasi-probe", 'allowed_env_vars = ["ALLOWED_TOKEN", "NOT_SET_ANYWHERE"]'),
          wasm: wasiProbe,
        },
      ],
      { env: serverEnv },
      async (host) => {
        assert.equal(outputOf(await host.invoke("wasi-probe", req("e"))).body, "ALLOWED_TOKEN=[redacted]\n");
      },
    );
    await withHost(
      [{ folder: "w", config: configToml("wasi-probe"), wasm: wasiProbe }],
      { env: serverEnv },
      async (host) => {
        assert.equal(outputOf(await host.invoke("wasi-probe", req("e"))).body, "");
      },
    );
  });

  it("gives no filesystem: a plugin sees no preopened directory, so no file can be opened", async () => {
    await withHost([{ folder: "w", config: configToml("wasi-probe"), wasm: wasiProbe }], {}, async (host) => {
      assert.equal(outputOf(await host.invoke("wasi-probe", req("f"))).body, "preopens=00000000");
    });
  });

  it("refuses to open a socket and ends the call as denied", async () => {
    await withHost([{ folder: "w", config: configToml("wasi-probe"), wasm: wasiProbe }], {}, async (host) => {
      assert.deepEqual(errorOf(await host.invoke("wasi-probe", req("s"))), {
        kind: "denied",
        message:
          "the plugin tried to open a TCP socket; plugins have no sockets or DNS of their own: make HTTP requests with fetch() to a host in allowed_hosts",
      });
    });
  });

  it("captures stdout, stderr and log lines with the call's request id and plugin name", async () => {
    const seen: PluginLogLine[] = [];
    await withHost(
      [{ folder: "p", config: configToml("probe"), wasm: probe }],
      { onLog: (l) => seen.push(l) },
      async (host) => {
        const r = await host.invoke("probe", { ...req("stdio"), requestId: "req-42" });
        assert.equal(outputOf(r).body, "done");
        const lines = r.logs.map((l) => [l.plugin, l.requestId, l.stream, l.level, l.message]);
        assert.deepEqual(
          lines.sort((a, b) => String(a[2]).localeCompare(String(b[2]))),
          [
            ["probe", "req-42", "log", "warn", "to the log"],
            ["probe", "req-42", "stderr", undefined, "to stderr"],
            ["probe", "req-42", "stdout", undefined, "to stdout"],
          ],
        );
        assert.deepEqual(
          seen,
          r.logs.slice().sort((a, b) => seen.indexOf(a) - seen.indexOf(b)),
        );
        assert.equal(seen.length, 3);
      },
    );
  });

  it("caps the captured output of one call and says so", async () => {
    await withHost([{ folder: "p", config: configToml("probe"), wasm: probe }], {}, async (host) => {
      const r = await host.invoke("probe", req("spam 400"));
      assert.equal(outputOf(r).body, "spammed");
      const stdout = r.logs.filter((l) => l.stream === "stdout");
      assert.ok(stdout.length > 200 && stdout.length < 400, `kept ${stdout.length} of 400 lines`);
      assert.deepEqual(
        r.logs.filter((l) => l.stream === "log").map((l) => [l.level, l.message]),
        [["warn", "host: dropped further output: more than 262144 bytes of logs in one call"]],
      );
    });
  });

  it("scrubs an allowed secret with JSON-escaped characters from outputs, errors, logs and files", async () => {
    const secret = 'p@ss"word\\with\nnewline';
    const seen: PluginLogLine[] = [];
    const forms = [secret, JSON.stringify(secret).slice(1, -1), 'p@ss"word', "with\nnewline"];
    await withHost(
      [{ folder: "p", config: configToml("probe", 'allowed_env_vars = ["API_SECRET"]'), wasm: probe }],
      { env: { API_SECRET: secret }, onLog: (l) => seen.push(l) },
      async (host, dir) => {
        const ok = await host.invoke("probe", req("secret API_SECRET"));
        const out = outputOf(ok);
        assert.equal(out.body, '{"secret":"[redacted]","raw":"[redacted]"}');
        assert.deepEqual(out.warnings, ["warning has [redacted]"]);
        assert.deepEqual(ok.logs.map((l) => l.message).sort(), ['log has {"v":"[redacted]"}', "stdout has [redacted]"]);
        const failed = await host.invoke("probe", req("secret-error API_SECRET"));
        assert.deepEqual(errorOf(failed), { kind: "upstream", message: 'upstream rejected "[redacted]"' });

        const everything = JSON.stringify([ok, failed, seen]);
        for (const f of forms) assert.ok(!everything.includes(f), `a form of the secret leaked: ${JSON.stringify(f)}`);
        // Nothing the host wrote to disk (the plugin folder, the transpile cache) holds it either.
        for (const root of [dir, CACHE_DIR]) {
          for (const name of await readdir(root, { recursive: true })) {
            const path = join(root, name);
            const text = await readFile(path).then(
              (b) => b.toString("latin1"),
              () => "",
            );
            for (const f of forms) assert.ok(!text.includes(f), `${path} holds a form of the secret`);
          }
        }
      },
    );
  });
});
