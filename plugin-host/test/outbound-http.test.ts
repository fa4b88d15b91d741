import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ResolvedAddress } from "../src/net.ts";
import { classifyAddress } from "../src/net.ts";
import { configToml, errorOf, fixture, outputOf, recordingConnector, startServer, withHost } from "./helpers.ts";

let probe: string;
let server: Awaited<ReturnType<typeof startServer>>;
let port: number;
before(async () => {
  probe = await fixture("probe");
  server = await startServer((req, res) => {
    if (req.url === "/redirect-denied") {
      res.writeHead(302, { location: "http://denied.test/steal" });
      res.end();
    } else if (req.url === "/redirect-allowed") {
      res.writeHead(302, { location: "/ok" });
      res.end();
    } else res.end(`ok ${req.url}`);
  });
  port = server.port;
});
after(() => server.close());

const req = (input: string) => ({ input, options: [] as [string, string][], user: "tester" });

/** A resolver with fixed answers per name, counting lookups; `answers` may change per lookup. */
function fakeResolver(answers: Record<string, (n: number) => string>) {
  const lookups: string[] = [];
  return {
    lookups,
    resolver: async (name: string): Promise<ResolvedAddress[]> => {
      lookups.push(name);
      const pick = answers[name];
      if (!pick) throw new Error(`no such host ${name}`);
      const address = pick(lookups.filter((l) => l === name).length);
      return [{ address, family: address.includes(":") ? 6 : 4 }];
    },
  };
}

function hostsConfig(hosts: string[], limits = "", envVars: string[] = []): string {
  return configToml(
    "probe",
    `allowed_env_vars = ${JSON.stringify(envVars)}\nallowed_hosts = ${JSON.stringify(hosts)}`,
    limits,
  );
}

describe("outbound HTTP", () => {
  it("reaches an allowed loopback host named literally, connecting to the checked address", async () => {
    const rec = recordingConnector(port);
    await withHost(
      [{ folder: "p", config: hostsConfig([`http://127.0.0.1:${port}`]), wasm: probe }],
      { connector: rec.connector },
      async (host) => {
        assert.equal(outputOf(await host.invoke("probe", req(`fetch http://127.0.0.1:${port}/ok`))).body, "200 ok /ok");
        assert.deepEqual(
          rec.attempts.map((a) => [a.address, a.port]),
          [["127.0.0.1", port]],
        );
      },
    );
  });

  it("denies a host that is not in allowed_hosts, naming it and the config key", async () => {
    const rec = recordingConnector(port);
    const dns = fakeResolver({});
    await withHost(
      [{ folder: "p", config: hostsConfig([`http://127.0.0.1:${port}`]), wasm: probe }],
      { connector: rec.connector, resolver: dns.resolver },
      async (host) => {
        const err = errorOf(await host.invoke("probe", req("fetch https://api.other.test/v1")));
        assert.deepEqual(err, {
          kind: "denied",
          message:
            'the plugin tried to reach https://api.other.test, which is not in allowed_hosts; to allow it, add "https://api.other.test" to allowed_hosts in the config.toml of plugin "probe"',
        });
        assert.deepEqual(dns.lookups, [], "a denied name is not even resolved");
        assert.deepEqual(rec.attempts, []);
      },
    );
  });

  it("re-checks a redirect: an allowed host redirecting to a denied one ends as denied", async () => {
    const rec = recordingConnector(port);
    const dns = fakeResolver({});
    await withHost(
      [{ folder: "p", config: hostsConfig([`http://127.0.0.1:${port}`]), wasm: probe }],
      { connector: rec.connector, resolver: dns.resolver },
      async (host) => {
        // An allowed redirect is followed (by the plugin, with a new request)...
        assert.equal(
          outputOf(await host.invoke("probe", req(`fetch http://127.0.0.1:${port}/redirect-allowed`))).body,
          "200 ok /ok",
        );
        // ...a redirect to a host outside allowed_hosts is not.
        const err = errorOf(await host.invoke("probe", req(`fetch http://127.0.0.1:${port}/redirect-denied`)));
        assert.equal(err.kind, "denied");
        assert.equal(
          err.message,
          'the plugin tried to reach http://denied.test, which is not in allowed_hosts; to allow it, add "http://denied.test" to allowed_hosts in the config.toml of plugin "probe"',
        );
        assert.deepEqual(
          rec.attempts.map((a) => a.address),
          ["127.0.0.1", "127.0.0.1", "127.0.0.1"],
        );
        assert.deepEqual(dns.lookups, []);
      },
    );
  });

  it("never connects to a name that resolves to the cloud metadata address, even when listed", async () => {
    const rec = recordingConnector(port);
    const dns = fakeResolver({ "meta.test": () => "169.254.169.254" });
    await withHost(
      [{ folder: "p", config: hostsConfig([`http://meta.test:${port}`]), wasm: probe }],
      { connector: rec.connector, resolver: dns.resolver },
      async (host) => {
        assert.deepEqual(errorOf(await host.invoke("probe", req(`fetch http://meta.test:${port}/latest/meta-data`))), {
          kind: "denied",
          message: `the plugin tried to reach http://meta.test:${port}, which resolved to 169.254.169.254, a cloud metadata address: plugins may never reach such addresses, whatever allowed_hosts says`,
        });
        assert.deepEqual(rec.attempts, [], "no connection may be attempted");
      },
    );
  });

  it("denies a name that resolves to loopback when no entry names loopback literally", async () => {
    const rec = recordingConnector(port);
    const dns = fakeResolver({ "sneaky.test": () => "127.0.0.1" });
    await withHost(
      [{ folder: "p", config: hostsConfig([`http://sneaky.test:${port}`]), wasm: probe }],
      { connector: rec.connector, resolver: dns.resolver },
      async (host) => {
        assert.deepEqual(errorOf(await host.invoke("probe", req(`fetch http://sneaky.test:${port}/admin`))), {
          kind: "denied",
          message: `the plugin tried to reach http://sneaky.test:${port}, which resolved to 127.0.0.1, a loopback address: loopback is allowed only when an allowed_hosts entry names it literally, such as "http://127.0.0.1:${port}"`,
        });
        assert.deepEqual(rec.attempts, []);
      },
    );
  });

  it("denies a private address reached through a wildcard entry", async () => {
    const rec = recordingConnector(port);
    const dns = fakeResolver({ "db.wild.test": () => "10.9.9.9" });
    await withHost(
      [{ folder: "p", config: hostsConfig([`http://*.wild.test:${port}`]), wasm: probe }],
      { connector: rec.connector, resolver: dns.resolver },
      async (host) => {
        assert.deepEqual(errorOf(await host.invoke("probe", req(`fetch http://db.wild.test:${port}/`))), {
          kind: "denied",
          message: `the plugin tried to reach http://db.wild.test:${port}, which resolved to 10.9.9.9, a private-network address: private addresses are allowed only when an allowed_hosts entry names the host exactly, such as "http://db.wild.test:${port}", not through a "*." wildcard`,
        });
        assert.deepEqual(rec.attempts, []);
      },
    );
  });

  it("connects to exactly the address it checked when the resolver's answer changes (no DNS rebinding)", async () => {
    const rec = recordingConnector(port);
    // First lookup: a private address (allowed: the entry names the host exactly); any later
    // lookup: the metadata address. A host that resolved again at connect time would go there.
    const dns = fakeResolver({ "rebind.test": (n) => (n === 1 ? "10.1.2.3" : "169.254.169.254") });
    await withHost(
      [{ folder: "p", config: hostsConfig([`http://rebind.test:${port}`]), wasm: probe }],
      { connector: rec.connector, resolver: dns.resolver },
      async (host) => {
        assert.equal(
          outputOf(await host.invoke("probe", req(`fetch http://rebind.test:${port}/ok`))).body,
          "200 ok /ok",
        );
        assert.deepEqual(dns.lookups, ["rebind.test"], "one lookup per request");
        assert.deepEqual(
          rec.attempts.map((a) => [a.address, a.port, a.hostname]),
          [["10.1.2.3", port, "rebind.test"]],
        );
        // The next request gets the new answer, which is checked and refused before any connect.
        const err = errorOf(await host.invoke("probe", req(`fetch http://rebind.test:${port}/ok`)));
        assert.equal(err.kind, "denied");
        assert.match(err.message, /which resolved to 169\.254\.169\.254, a cloud metadata address/);
        assert.equal(rec.attempts.length, 1);
      },
    );
  });

  it("ends a call that makes more than max_http_requests requests as too-many-requests", async () => {
    const rec = recordingConnector(port);
    const url = `http://127.0.0.1:${port}/ok`;
    await withHost(
      [{ folder: "p", config: hostsConfig([`http://127.0.0.1:${port}`], "max_http_requests = 2"), wasm: probe }],
      { connector: rec.connector },
      async (host) => {
        assert.deepEqual(errorOf(await host.invoke("probe", req(`fetch ${url} ${url} ${url}`))), {
          kind: "too-many-requests",
          message:
            "the plugin made more than 2 outbound HTTP requests in one call (limits.max_http_requests in its config.toml)",
        });
        assert.equal(rec.attempts.length, 2);
      },
    );
  });

  it("says why a request failed on the host's side: connection refused, name not resolved", async () => {
    const closed = await startServer(() => {});
    await closed.close();
    const dns = fakeResolver({});
    await withHost(
      [
        {
          folder: "p",
          config: hostsConfig([`http://127.0.0.1:${closed.port}`, "https://api.nowhere.test"]),
          wasm: probe,
        },
      ],
      { resolver: dns.resolver },
      async (host) => {
        // The probe catches fetch()'s error itself, so the call succeeds; the host's log says why.
        const r = await host.invoke("probe", req(`fetch http://127.0.0.1:${closed.port}/x https://api.nowhere.test/`));
        assert.match(outputOf(r).body, /^error .*\nerror /);
        assert.deepEqual(
          r.logs.map((l) => [l.level, l.message]),
          [
            ["warn", `host: the request failed: could not connect to 127.0.0.1:${closed.port}: connection refused`],
            ["warn", "host: the request failed: could not resolve api.nowhere.test: no such host api.nowhere.test"],
          ],
        );
        // A plugin that gives up reports a generic error; the host adds the cause it knows.
        const failed = await host.invoke("probe", req(`fetch-or-fail http://127.0.0.1:${closed.port}/x`));
        assert.equal(errorOf(failed).kind, "upstream");
        assert.match(
          errorOf(failed).message,
          new RegExp(
            `^could not fetch: .* \\(the host could not connect to 127\\.0\\.0\\.1:${closed.port}: connection refused\\)$`,
          ),
        );
      },
    );
  });

  it("takes an allowed host from an allowed env var, and says when that variable is unset", async () => {
    const rec = recordingConnector(port);
    const config = hostsConfig(["${TARGET_URL}"], "", ["TARGET_URL"]);
    await withHost(
      [{ folder: "p", config, wasm: probe }],
      { connector: rec.connector, env: { TARGET_URL: `http://127.0.0.1:${port}/base` } },
      async (host) => {
        assert.equal(outputOf(await host.invoke("probe", req(`fetch http://127.0.0.1:${port}/ok`))).body, "200 ok /ok");
      },
    );
    await withHost([{ folder: "p", config, wasm: probe }], { connector: rec.connector, env: {} }, async (host) => {
      const info = host.list().plugins[0]!;
      assert.deepEqual(info.warnings, [
        'allowed_hosts entry "${TARGET_URL}" is disabled: TARGET_URL is not set in the server\'s environment',
      ]);
      const err = errorOf(await host.invoke("probe", req(`fetch http://127.0.0.1:${port}/ok`)));
      assert.equal(err.kind, "denied");
      assert.equal(
        err.message,
        `the plugin tried to reach http://127.0.0.1:${port}, which is not in allowed_hosts; to allow it, add "http://127.0.0.1:${port}" to allowed_hosts in the config.toml of plugin "probe" (allowed_hosts entry "\${TARGET_URL}" is disabled: TARGET_URL is not set in the server's environment)`,
      );
    });
    assert.equal(rec.attempts.length, 1);
  });
});

describe("address classes", () => {
  it("never allows metadata, link-local, unspecified or IPv4-mapped forms of any address", () => {
    for (const a of [
      "::ffff:127.0.0.1",
      "169.254.169.254",
      "::ffff:169.254.169.254",
      "fe80::1",
      "169.254.1.1",
      "0.0.0.0",
      "::",
      "fd00:ec2::254",
      "224.0.0.1",
      "255.255.255.255",
    ]) {
      assert.equal(classifyAddress(a).cls, "never", a);
    }
  });
  it("tells loopback, private and public apart", () => {
    assert.equal(classifyAddress("127.0.0.1").cls, "loopback");
    assert.equal(classifyAddress("::1").cls, "loopback");
    for (const a of ["10.0.0.1", "172.16.5.4", "192.168.1.1", "fd12::1", "100.64.0.1"])
      assert.equal(classifyAddress(a).cls, "private", a);
    for (const a of ["93.184.216.34", "2606:4700::1111"]) assert.equal(classifyAddress(a).cls, "public", a);
  });
});
