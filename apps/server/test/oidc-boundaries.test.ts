import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { safeNextPath } from "@databook/wire";
import { authSettingsFromEnv, type OidcSettings } from "../src/auth/config.ts";
import { createOidcClient, groupsFrom, MAX_GROUPS, type OidcFailure } from "../src/auth/oidc.ts";
import { displayNameFrom } from "../src/auth/oidc-accounts.ts";
import { createPendingSignIns, MAX_PENDING_SIGN_INS, PENDING_SIGN_IN_TTL_MS } from "../src/auth/pending-sign-ins.ts";

// The edges of single sign-on that need no provider: which issuers may be used over http, where
// `next` may point, how long a sign-in attempt lives, what is kept from the claims. The fetch
// injected here answers locally: nothing is ever sent off this machine.

const settings = (issuer: string): OidcSettings => ({
  issuer: new URL(issuer),
  clientId: "databook",
  clientSecret: "secret",
  label: "IdP",
  groupsClaim: "groups",
  adminGroups: [],
  allowedGroups: [],
  scopes: ["openid"],
});

/** A fetch that records every URL and answers `status` without any network. */
function recordingFetch(answer: (url: string) => Response = () => new Response("down", { status: 503 })) {
  const calls: string[] = [];
  return {
    calls,
    fetch: async (url: string) => {
      calls.push(url);
      return answer(url);
    },
  };
}

describe("which OpenID providers may be used over plain http", () => {
  const env = (issuer: string) => ({
    DATABOOK_PUBLIC_URL: "https://databook.example",
    DATABOOK_OIDC_ISSUER: issuer,
    DATABOOK_OIDC_CLIENT_ID: "databook",
  });

  it("configuration refuses an http issuer that is not loopback, saying what to write", () => {
    for (const issuer of ["http://idp.example", "http://10.1.2.3:8080/realms/x", "http://localhost.evil.example"])
      assert.throws(
        () => authSettingsFromEnv(env(issuer)),
        (e: { kind: string; message: string }) =>
          e.kind === "bad-input" && /DATABOOK_OIDC_ISSUER/.test(e.message) && /https:\/\//.test(e.message),
        issuer,
      );
    assert.throws(() => authSettingsFromEnv(env("ftp://localhost")), { kind: "bad-input" });
    for (const issuer of ["https://idp.example", "http://localhost:9000", "http://127.0.0.1:9000", "http://[::1]:9000"])
      assert.equal(authSettingsFromEnv(env(issuer)).oidc?.issuer.href, new URL(issuer).href, issuer);
  });

  it("the client itself sends nothing to an http issuer that is not loopback", async () => {
    const f = recordingFetch();
    const client = createOidcClient(settings("http://idp.example"), {
      redirectUri: "https://databook.example/auth/oidc/callback",
      fetch: f.fetch,
    });
    const failed = await client.warmUp();
    assert.equal(failed?.problem, "oidc-failed");
    assert.match(failed?.message ?? "", /only requests to https/i);
    assert.deepEqual(f.calls, []);
    await assert.rejects(client.start(), (e: OidcFailure) => e.problem === "oidc-failed");
    assert.deepEqual(f.calls, []);
  });

  it("an https issuer is asked for its discovery document; one that does not answer is 'unavailable'", async () => {
    const f = recordingFetch();
    const client = createOidcClient(settings("https://idp.example/realms/ops"), {
      redirectUri: "https://databook.example/auth/oidc/callback",
      fetch: f.fetch,
    });
    assert.equal((await client.warmUp())?.problem, "oidc-unavailable");
    assert.deepEqual(f.calls, ["https://idp.example/realms/ops/.well-known/openid-configuration"]);
    // a failed discovery is not remembered: the next sign-in asks again
    assert.equal((await client.warmUp())?.problem, "oidc-unavailable");
    assert.equal(f.calls.length, 2);
  });

  it("a loopback issuer whose metadata sends the token request to an http host elsewhere is not followed", async () => {
    const issuer = "http://localhost:1";
    const f = recordingFetch((url) =>
      url.endsWith("/.well-known/openid-configuration")
        ? Response.json({
            issuer,
            authorization_endpoint: `${issuer}/auth`,
            token_endpoint: "http://idp.example/token",
            jwks_uri: "http://idp.example/jwks",
            code_challenge_methods_supported: ["S256"],
            response_types_supported: ["code"],
          })
        : new Response("unexpected", { status: 500 }),
    );
    const redirectUri = "http://127.0.0.1:2/auth/oidc/callback";
    const client = createOidcClient(settings(issuer), { redirectUri, fetch: f.fetch });
    const { url, checks } = await client.start();
    assert.equal(url.origin, issuer);
    const callback = new URL(`${redirectUri}?code=abc&state=${checks.state}`);
    await assert.rejects(client.finish(callback, checks), (e: OidcFailure) => e.problem === "oidc-failed");
    assert.deepEqual(f.calls, [`${issuer}/.well-known/openid-configuration`]);
  });

  it("a provider that does not announce PKCE S256 is refused with a message saying so", async () => {
    const issuer = "http://127.0.0.1:1";
    const f = recordingFetch(() =>
      Response.json({ issuer, authorization_endpoint: `${issuer}/auth`, token_endpoint: `${issuer}/token` }),
    );
    const client = createOidcClient(settings(issuer), { redirectUri: "http://127.0.0.1:2/cb", fetch: f.fetch });
    const failed = await client.warmUp();
    assert.equal(failed?.problem, "oidc-failed");
    assert.match(failed?.message ?? "", /PKCE/);
  });
});

describe("where a sign-in may send the browser next", () => {
  it("keeps same-site paths with their query and fragment", () => {
    for (const p of ["/", "/n/abc", "/n/abc?view=timeline", "/n/abc#cell-2", "/account?welcome=1"])
      assert.equal(safeNextPath(p), p);
    assert.equal(safeNextPath("/n/../admin"), "/admin"); // normalised, still this site
  });

  it("turns everything else into /", () => {
    for (const p of [
      undefined,
      42,
      "",
      "//evil.example",
      "///evil.example",
      "/\\evil.example",
      "\\\\evil.example",
      "\\/evil.example",
      "/\t/evil.example",
      "/\n/evil.example",
      "/ /evil.example",
      "https://evil.example",
      "http:/evil.example",
      "javascript:alert(1)",
      "data:text/html,hi",
      "evil.example",
      `/${"a".repeat(3000)}`,
    ])
      assert.equal(safeNextPath(p), "/", JSON.stringify(p));
  });
});

describe("sign-in attempts under way", () => {
  const attempt = (state: string) => ({ state, nonce: "n", codeVerifier: "v", next: "/" });

  it("are taken once, by the browser that started them, within 10 minutes", async () => {
    let now = 1_000_000;
    const p = createPendingSignIns(() => now);
    await p.add(attempt("a"), "browser-1");
    await p.add(attempt("b"), "browser-1");
    await p.add(attempt("c"), "browser-1");
    assert.equal((await p.take("a", "browser-1")).ok, true);
    assert.deepEqual(await p.take("a", "browser-1"), { ok: false, why: "unknown" });
    assert.deepEqual(await p.take("b", "browser-2"), { ok: false, why: "other-browser" });
    assert.deepEqual(await p.take("b", "browser-1"), { ok: false, why: "unknown" }, "spent by the wrong browser");
    assert.deepEqual(await p.take("c", undefined), { ok: false, why: "other-browser" });
    await p.add(attempt("d"), "browser-1");
    now += PENDING_SIGN_IN_TTL_MS;
    assert.deepEqual(await p.take("d", "browser-1"), { ok: false, why: "unknown" });
    assert.equal(p.size, 0);
  });

  it("are bounded in number: the oldest go first", async () => {
    const p = createPendingSignIns(() => 0);
    for (let i = 0; i <= MAX_PENDING_SIGN_INS; i++) await p.add(attempt(`s${i}`), "b");
    assert.equal(p.size, MAX_PENDING_SIGN_INS);
    assert.equal((await p.take("s0", "b")).ok, false);
    assert.equal((await p.take(`s${MAX_PENDING_SIGN_INS}`, "b")).ok, true);
  });
});

describe("what is kept from the provider's claims", () => {
  it("groups: the strings of an array (or one string), trimmed, without repeats, bounded", () => {
    assert.deepEqual(groupsFrom(["sre", " payments ", 7, null, "", "sre"]), ["sre", "payments"]);
    assert.deepEqual(groupsFrom("ops"), ["ops"]);
    assert.deepEqual(groupsFrom(undefined), []);
    assert.deepEqual(groupsFrom({ sre: true }), []);
    assert.deepEqual(groupsFrom(["x".repeat(201), "ok"]), ["ok"]);
    assert.equal(groupsFrom(Array.from({ length: MAX_GROUPS + 50 }, (_, i) => `g${i}`)).length, MAX_GROUPS);
  });

  it("display name: cut to 100 characters; one with control or bidirectional characters is passed over", () => {
    assert.equal(displayNameFrom(["  Ann  "], "s"), "Ann");
    assert.equal([...displayNameFrom(["é".repeat(150)], "s")].length, 100);
    assert.equal(displayNameFrom(["Bad\u202Ename", "bad\nname", "fine"], "s"), "fine");
    assert.equal(displayNameFrom(["", "   "], "abc"), "OpenID user abc");
    assert.equal(displayNameFrom([], "\u202E"), "OpenID user");
  });
});
