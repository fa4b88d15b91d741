import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig } from "../src/config.ts";

const base = `name = "demo"\ndescription = "A demo."\nversion = "1.0.0"\n`;

function problems(text: string, env: Record<string, string> = {}): string[] {
  const r = parseConfig(text, env);
  assert.equal(r.ok, false, "expected the config to be rejected");
  return r.ok ? [] : r.problems;
}

describe("config.toml validation", () => {
  it("accepts a minimal config and fills in the default limits", () => {
    const r = parseConfig(base, {});
    assert.ok(r.ok);
    assert.deepEqual(r.config.limits, {
      timeoutMs: 10000,
      memoryMb: 128,
      maxOutputBytes: 4194304,
      maxHttpRequests: 20,
      maxRequestBytes: 1048576,
    });
    assert.deepEqual(r.config.allowedHosts, []);
  });

  it("reports bad TOML with its line and column", () => {
    const [p, ...rest] = problems(`${base}allowed_hosts = [\n`);
    assert.equal(rest.length, 0);
    assert.match(p!, /^not valid TOML at line \d+, column \d+: /);
  });

  it("gives each problem its own message", () => {
    const ps = problems(
      `name = "Bad Name"\nversion = 3\ncolour = "red"\nallowed_env_vars = ["OK", "not ok"]\n[limits]\ntimeout_ms = -5\ntimeout = 5\nmemory_mb = "lots"\n`,
    );
    assert.deepEqual(ps, [
      'unknown key "colour" (known keys: name, description, version, allowed_env_vars, public_env_vars, allowed_hosts, [limits])',
      `"name" = "Bad Name" is not valid: use lower-case letters, digits, '-' or '_', starting with a letter, at most 63 characters`,
      '"description" is missing: add description = "..." (one or two sentences for people choosing a plugin)',
      '"version" must be a string (the plugin\'s version), not 3',
      '"allowed_env_vars"[1] = "not ok" is not valid: use an environment variable name such as PROMETHEUS_TOKEN',
      'unknown key "limits.timeout" (known keys: limits.timeout_ms, limits.memory_mb, limits.max_output_bytes, limits.max_http_requests, limits.max_request_bytes)',
      '"limits.timeout_ms" must be a whole number from 1 to 300000 (deadline of one call in milliseconds), not -5',
      '"limits.memory_mb" must be a whole number from 1 to 4096 (linear memory cap of one instance in MiB), not "lots"',
    ]);
  });

  it("parses allowed_hosts entries with wildcards, ports and IP literals", () => {
    const r = parseConfig(
      `${base}allowed_hosts = ["https://*.Example.com", "http://127.0.0.1:9090", "http://[::1]:8080"]\n`,
      {},
    );
    assert.ok(r.ok);
    assert.deepEqual(
      r.config.allowedHosts.map((h) => [h.scheme, h.host, h.port, h.wildcard]),
      [
        ["https", "example.com", 443, true],
        ["http", "127.0.0.1", 9090, false],
        ["http", "[::1]", 8080, false],
      ],
    );
  });

  it("rejects malformed allowed_hosts entries, each with the reason", () => {
    const ps = problems(
      `${base}allowed_hosts = ["ftp://x.org", "https://a.org/path", "https://u:p@a.org", "https://a.*.org", "example.com"]\n`,
    );
    assert.deepEqual(ps, [
      'allowed_hosts entry "ftp://x.org": scheme "ftp" is not supported: use http or https',
      'allowed_hosts entry "https://a.org/path": only scheme://host[:port] is allowed, without a path, query or fragment',
      'allowed_hosts entry "https://u:p@a.org": user names and passwords are not allowed in allowed_hosts',
      'allowed_hosts entry "https://a.*.org": "a.*.org" is not a valid host name ("*." is only allowed at the start)',
      'allowed_hosts entry "example.com": use scheme://host[:port], e.g. https://api.example.com or http://127.0.0.1:9090',
    ]);
  });

  it("resolves ${VAR} entries from allowed env vars and disables unset ones with a message", () => {
    const text = `${base}allowed_env_vars = ["PROM_URL", "OTHER_URL"]\nallowed_hosts = ["\${PROM_URL}", "\${OTHER_URL}"]\n`;
    const r = parseConfig(text, { PROM_URL: "http://prometheus:9090/prom" });
    assert.ok(r.ok);
    assert.deepEqual(
      r.config.allowedHosts.map((h) => [h.entry, h.host, h.port, h.fromEnv]),
      [["${PROM_URL}", "prometheus", 9090, "PROM_URL"]],
    );
    assert.deepEqual(r.warnings, [
      'allowed_hosts entry "${OTHER_URL}" is disabled: OTHER_URL is not set in the server\'s environment',
    ]);
  });

  it("requires a ${VAR} entry to name an allowed env var", () => {
    assert.deepEqual(problems(`${base}allowed_hosts = ["\${SECRET_URL}"]\n`, { SECRET_URL: "http://a.org" }), [
      'allowed_hosts entry "${SECRET_URL}" names SECRET_URL, which is not in allowed_env_vars; add "SECRET_URL" to allowed_env_vars',
    ]);
  });

  it("accepts public_env_vars only as a subset of allowed_env_vars", () => {
    const ok = parseConfig(
      `${base}allowed_env_vars = ["PROM_URL", "PROM_TOKEN"]\npublic_env_vars = ["PROM_URL"]\n`,
      {},
    );
    assert.ok(ok.ok);
    assert.deepEqual(ok.config.publicEnvVars, ["PROM_URL"]);
    const none = parseConfig(base, {});
    assert.ok(none.ok);
    assert.deepEqual(none.config.publicEnvVars, []);
    assert.deepEqual(
      problems(`${base}allowed_env_vars = ["PROM_URL"]\npublic_env_vars = ["PROM_URL", "PROM_TOKEN"]\n`),
      [
        'public_env_vars names PROM_TOKEN, which is not in allowed_env_vars; add "PROM_TOKEN" to allowed_env_vars, or remove it from public_env_vars',
      ],
    );
    assert.deepEqual(problems(`${base}public_env_vars = "PROM_URL"\n`), [
      '"public_env_vars" must be a list of strings (allowed env vars whose values are not secret (server URLs) and may appear in messages), not "PROM_URL"',
    ]);
  });
});
