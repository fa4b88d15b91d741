/**
 * Address rules of outbound HTTP: every spelling of a metadata, link-local or IPv4-embedding
 * address is refused before any connection, even when listed; an allowed_hosts entry naming an
 * IPv4-embedding IPv6 address is a config error. Requests go through the host's real send path
 * with an injected resolver and a recording connector: no packet leaves loopback.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { HostRule } from "../src/config.ts";
import { parseConfig, parseHostEntry } from "../src/config.ts";
import { sendOutbound } from "../src/http-proxy.ts";
import { canonicalHost, classifyAddress, type ResolvedAddress } from "../src/net.ts";
import { configToml, errorOf, fixture, recordingConnector, startServer, withHost } from "./helpers.ts";

let server: Awaited<ReturnType<typeof startServer>>;
before(async () => {
  server = await startServer((_req, res) => res.end("reached"));
});
after(() => server.close());

/**
 * Sends one GET through the host's send path, allowed by `entry` (an allowed_hosts entry, or a
 * rule built directly to stand for one the config check would refuse); returns what happened.
 */
async function attempt(url: string, entry: string | HostRule, dns: Record<string, string> = {}) {
  const rec = recordingConnector(server.port);
  const lookups: string[] = [];
  const rule = typeof entry === "string" ? parseHostEntry(entry, { allowPath: false }) : entry;
  if (typeof rule === "string") throw new Error(`the entry ${entry} should parse: ${rule}`);
  const [, scheme, authority] = /^(\w+):\/\/([^/]*)/.exec(url)!;
  const out = await sendOutbound(
    { method: "GET", scheme: scheme!, authority: authority!, pathWithQuery: "/", headers: [], body: [] },
    {
      pluginName: "probe",
      rules: [{ entry: String(entry), ...rule }],
      disabled: [],
      resolver: async (name): Promise<ResolvedAddress[]> => {
        lookups.push(name);
        const a = dns[name];
        if (!a) throw new Error(`no such host ${name}`);
        return [{ address: a, family: a.includes(":") ? 6 : 4 }];
      },
      connector: rec.connector,
      signal: new AbortController().signal,
    },
  );
  return { ...out, attempts: rec.attempts, lookups };
}

/** A rule naming `host` exactly, as if allowed_hosts listed it (the config check refuses most of these). */
const listed = (host: string): HostRule => ({
  entry: `http://${host}`,
  scheme: "http",
  host: canonicalHost(host)!,
  port: 80,
  wildcard: false,
});

// The host names as a plugin may write them in a URL (wasi:http lets it set any authority).
const METADATA_SPELLINGS = [
  "169.254.169.254",
  "169.254.169.254.",
  "2852039166",
  "0xa9fea9fe",
  "0xa9.0xfe.0xa9.0xfe",
  "0251.0376.0251.0376",
  "169.254.43518",
  "169.16689662",
  "[::ffff:169.254.169.254]",
  "[::ffff:a9fe:a9fe]",
  "[0:0:0:0:0:ffff:a9fe:a9fe]",
  "[::a9fe:a9fe]",
  "[::169.254.169.254]",
  "[::ffff:0:a9fe:a9fe]",
  "[64:ff9b::a9fe:a9fe]",
  "[64:ff9b::169.254.169.254]",
  "[64:ff9b:1::a9fe:a9fe]",
  "[2002:a9fe:a9fe::1]",
  "[fd00:ec2::254]",
  "[FD00:0EC2:0:0:0:0:0:0254]",
];
const LINK_LOCAL_SPELLINGS = ["169.254.1.1", "0xa9fe0101", "[fe80::1]", "[FE80:0::a9fe:a9fe]", "[::ffff:169.254.1.1]"];
const EMBEDDED_LOOPBACK_AND_PRIVATE = [
  "[::ffff:127.0.0.1]",
  "[::ffff:7f00:1]",
  "[::127.0.0.1]",
  "[64:ff9b::7f00:1]",
  "[::ffff:10.0.0.1]",
  "[::ffff:192.168.1.1]",
  "[64:ff9b::a00:1]",
  "[2001:0:4136:e378:8000:63bf:f5ff:fffe]",
];

describe("address rules", () => {
  it("refuses every spelling of the metadata address, even when the entry names that spelling", async () => {
    for (const host of METADATA_SPELLINGS) {
      // A wildcard-free entry for the exact spelling would be refused by the config check, so
      // allow the host through a DNS name that resolves to it, and ask for the literal directly.
      const byName = await attempt(`http://meta.test/`, "http://meta.test", {
        "meta.test": host.replace(/^\[|\]$/g, "").replace(/\.$/, ""),
      });
      assert.equal(byName.answer.ok, false, host);
      assert.ok(byName.denial, `${host} via DNS: expected a denial`);
      assert.deepEqual(byName.attempts, [], `${host} via DNS: no connection`);
      const direct = await attempt(`http://${host}/`, listed(host));
      assert.ok(direct.denial, `${host}: expected a denial`);
      assert.deepEqual(direct.attempts, [], `${host}: no connection`);
      assert.deepEqual(direct.lookups, [], `${host}: an IP literal is never sent to the resolver`);
    }
  });

  it("refuses every spelling of link-local, and IPv4-embedding IPv6 forms of loopback and private addresses", async () => {
    for (const host of [...LINK_LOCAL_SPELLINGS, ...EMBEDDED_LOOPBACK_AND_PRIVATE]) {
      const r = await attempt("http://inner.test/", "http://inner.test", {
        "inner.test": host.replace(/^\[|\]$/g, ""),
      });
      assert.ok(r.denial, `${host}: expected a denial`);
      assert.match(r.denial!, /plugins may never reach such addresses, whatever allowed_hosts says/, host);
      assert.deepEqual(r.attempts, [], `${host}: no connection`);
    }
    const mapped = await attempt("http://inner.test/", "http://inner.test", { "inner.test": "::ffff:127.0.0.1" });
    assert.equal(
      mapped.denial,
      "the plugin tried to reach http://inner.test, which resolved to ::ffff:127.0.0.1, an IPv4-mapped IPv6 address (it embeds 127.0.0.1): plugins may never reach such addresses, whatever allowed_hosts says",
    );
    const nat64 = await attempt("http://inner.test/", "http://inner.test", { "inner.test": "64:ff9b::a9fe:a9fe" });
    assert.match(nat64.denial!, /a NAT64 IPv6 address \(it embeds 169\.254\.169\.254\)/);
    const compat = await attempt("http://inner.test/", "http://inner.test", { "inner.test": "::a9fe:a9fe" });
    assert.match(compat.denial!, /an IPv4-compatible IPv6 address \(it embeds 169\.254\.169\.254\)/);
  });

  it("still reaches loopback named literally, in any spelling of 127.0.0.1", async () => {
    for (const [url, entry] of [
      [`http://127.0.0.1:${server.port}/`, `http://127.0.0.1:${server.port}`],
      [`http://0x7f.1:${server.port}/`, `http://127.0.0.1:${server.port}`],
      [`http://2130706433:${server.port}/`, `http://127.0.0.1:${server.port}`],
      [`http://127.0.0.1:${server.port}/`, `http://0177.0.0.1:${server.port}`],
    ] as const) {
      const r = await attempt(url, entry);
      assert.equal(r.denial, undefined, `${url} with ${entry}`);
      assert.equal(r.answer.ok, true, `${url} with ${entry}`);
      assert.deepEqual(
        r.attempts.map((a) => a.address),
        ["127.0.0.1"],
      );
    }
  });

  it("rejects an allowed_hosts entry naming an IPv4-embedding, metadata or link-local address, with a message", () => {
    const base = `name = "demo"\ndescription = "A demo."\nversion = "1.0.0"\n`;
    const problemsOf = (entry: string) => {
      const r = parseConfig(`${base}allowed_hosts = ["${entry}"]\n`, {});
      assert.equal(r.ok, false, entry);
      return r.ok ? [] : r.problems;
    };
    assert.deepEqual(problemsOf("http://[::ffff:127.0.0.1]"), [
      'allowed_hosts entry "http://[::ffff:127.0.0.1]": [::ffff:127.0.0.1] is an IPv4-mapped IPv6 address (it embeds 127.0.0.1), which plugins may never reach, whatever allowed_hosts says; to reach 127.0.0.1, name it as an IPv4 address',
    ]);
    assert.deepEqual(problemsOf("http://[::ffff:10.0.0.1]:9090"), [
      'allowed_hosts entry "http://[::ffff:10.0.0.1]:9090": [::ffff:10.0.0.1] is an IPv4-mapped IPv6 address (it embeds 10.0.0.1), which plugins may never reach, whatever allowed_hosts says; to reach 10.0.0.1, name it as an IPv4 address',
    ]);
    for (const entry of [
      "http://[::a9fe:a9fe]",
      "http://[64:ff9b::a00:1]",
      "http://[64:ff9b:1::1]",
      "http://169.254.169.254",
      "http://2852039166",
      "http://[fd00:ec2::254]",
      "http://[fe80::1]",
      "http://169.254.3.4",
    ]) {
      const [p, ...rest] = problemsOf(entry);
      assert.equal(rest.length, 0, entry);
      assert.match(p!, /which plugins may never reach, whatever allowed_hosts says/, entry);
    }
    assert.deepEqual(problemsOf("http://[1:2:3:4:5:6:7:8:9]"), [
      'allowed_hosts entry "http://[1:2:3:4:5:6:7:8:9]": [1:2:3:4:5:6:7:8:9] is not a valid IPv6 address',
    ]);
    const env = parseConfig(`${base}allowed_env_vars = ["U"]\nallowed_hosts = ["\${U}"]\n`, {
      U: "http://[::ffff:127.0.0.1]:9090",
    });
    assert.ok(env.ok);
    assert.deepEqual(env.config.allowedHosts, []);
    assert.match(
      env.config.disabledHosts[0]!.reason,
      /is disabled: .*IPv4-mapped IPv6 address \(it embeds 127\.0\.0\.1\)/,
    );
  });

  it("classifies embedded forms as never, whichever IPv4 address they carry", () => {
    for (const a of ["::ffff:127.0.0.1", "::ffff:8.8.8.8", "::8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"]) {
      assert.equal(classifyAddress(a).cls, "never", a);
    }
    assert.equal(classifyAddress("::ffff:8.8.8.8").embedded, "8.8.8.8");
    assert.equal(classifyAddress("::1").cls, "loopback");
    assert.equal(classifyAddress("::").cls, "never");
    assert.equal(classifyAddress("2606:4700::1111").cls, "public");
  });

  it("denies the probe plugin's fetch() to a mapped address end to end, with no connection", async () => {
    const probe = await fixture("probe");
    const rec = recordingConnector(server.port);
    await withHost(
      [
        {
          folder: "p",
          config: configToml("probe", `allowed_hosts = ["http://mapped.test:${server.port}"]`),
          wasm: probe,
        },
      ],
      {
        connector: rec.connector,
        resolver: async () => [{ address: "::ffff:127.0.0.1", family: 6 }],
      },
      async (host) => {
        const r = await host.invoke("probe", {
          input: `fetch http://mapped.test:${server.port}/`,
          options: [],
          user: "t",
        });
        assert.deepEqual(errorOf(r), {
          kind: "denied",
          message: `the plugin tried to reach http://mapped.test:${server.port}, which resolved to ::ffff:127.0.0.1, an IPv4-mapped IPv6 address (it embeds 127.0.0.1): plugins may never reach such addresses, whatever allowed_hosts says`,
        });
      },
    );
    assert.deepEqual(rec.attempts, []);
  });
});
