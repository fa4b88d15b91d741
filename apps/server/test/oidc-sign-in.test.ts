import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { freePort, type OidcTestPerson, type RunningOidcProvider, startOidcProvider } from "@databook/test-services";
import { CLOSE_CODES, OIDC_PROBLEMS, SYSTEM_PRINCIPAL } from "@databook/wire";
import { authSettingsFromEnv } from "../src/auth/config.ts";
import { SIGN_IN_LIMITS } from "../src/routes/auth.ts";
import { type CookieBrowser, cookieBrowser, signInAtProvider } from "./cookie-browser.ts";
import { callerAt, startApp, tempDir, waitFor } from "./helpers.ts";

// Single sign-on against a real OpenID Provider (npm oidc-provider on localhost), with Databook
// in-process on 127.0.0.1. Each browser is a fresh cookie jar with its own client address (sent
// as X-Forwarded-For to a server that trusts it) so the per-address rate limits of one test do
// not reach another.

const SESSION = "databook_session";
const ENV = {
  DATABOOK_OIDC_LABEL: "Test IdP",
  DATABOOK_OIDC_ADMIN_GROUPS: "databook-admins",
  DATABOOK_OIDC_ALLOWED_GROUPS: "sre, payments",
};

let address = 1;
const browser = (): CookieBrowser => cookieBrowser({ forwardedFor: `127.0.0.${++address}` });

/** Databook at a fixed free port (its public URL names it) using `idp`, or an issuer nobody serves yet. */
async function startDatabook(opts: {
  port: number;
  issuer: string;
  clientId?: string;
  clientSecret?: string;
  env?: Record<string, string>;
}) {
  const t = tempDir();
  const url = `http://127.0.0.1:${opts.port}`;
  const auth = authSettingsFromEnv({
    DATABOOK_PUBLIC_URL: url,
    DATABOOK_OIDC_ISSUER: opts.issuer,
    DATABOOK_OIDC_CLIENT_ID: opts.clientId ?? "databook",
    ...(opts.clientSecret ? { DATABOOK_OIDC_CLIENT_SECRET: opts.clientSecret } : {}),
    ...ENV,
    ...opts.env,
  });
  const app = await startApp(t.dir, { auth, trustProxy: true }, opts.port);
  return {
    ...app,
    url,
    async stop() {
      await app.stop();
      t.cleanup();
    },
  };
}

/** Both sides: the provider knowing `people`, and Databook registered with it. */
async function startBoth(people: Record<string, OidcTestPerson>) {
  const port = await freePort();
  const idp = await startOidcProvider({ redirectUris: [`http://127.0.0.1:${port}/auth/oidc/callback`], people });
  const db = await startDatabook({ port, issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret });
  return { idp, db, stop: async () => (await db.stop(), await idp.stop()) };
}

/** What Databook's `/api/me` says about the browser's session. */
async function me(url: string, b: CookieBrowser) {
  const r = await b.request(`${url}/api/me`);
  return { status: r.response.status, body: (await r.response.json()) as any };
}

const problemOf = (u: URL) => (u.pathname === "/signin" ? u.searchParams.get("problem") : `not refused: ${u.href}`);

describe("OpenID Connect sign-in against a real provider", () => {
  let idp: RunningOidcProvider;
  let db: Awaited<ReturnType<typeof startDatabook>>;
  let stop: () => Promise<void>;
  const people: Record<string, OidcTestPerson> = {};
  const start = (next?: string) =>
    `${db.url}/auth/oidc/start${next === undefined ? "" : `?next=${encodeURIComponent(next)}`}`;
  const signIn = (b: CookieBrowser, login: string, next?: string) => signInAtProvider(b, start(next), login);

  before(async () => {
    ({ idp, db, stop } = await startBoth(people));
  });
  after(() => stop());

  it("the first sign-in creates the account from the claims: name, email and groups; a member by default", async () => {
    people.ann = {
      name: "Ann Example",
      preferred_username: "ann",
      email: "ann@example.com",
      groups: ["sre", "payments"],
    };
    const b = browser();
    const { landedAt, hops } = await signIn(b, "ann", "/n/abc?view=timeline");
    assert.equal(landedAt.href, `${db.url}/n/abc?view=timeline`);
    // the provider was asked for a PKCE S256 challenge, a state and a nonce
    const auth = new URL(hops[0]!.location!);
    assert.equal(auth.origin, idp.issuer);
    assert.equal(auth.searchParams.get("code_challenge_method"), "S256");
    for (const p of ["code_challenge", "state", "nonce"]) assert.ok((auth.searchParams.get(p) ?? "").length >= 32, p);
    assert.equal(auth.searchParams.get("redirect_uri"), `${db.url}/auth/oidc/callback`);

    const m = await me(db.url, b);
    assert.equal(m.status, 200);
    assert.deepEqual(
      {
        name: m.body.account.displayName,
        email: m.body.account.email,
        groups: m.body.account.groups,
        role: m.body.account.role,
        oidc: m.body.account.oidc,
        password: m.body.account.hasPassword,
      },
      {
        name: "Ann Example",
        email: "ann@example.com",
        groups: ["sre", "payments"],
        role: "member",
        oidc: true,
        password: false,
      },
    );
    assert.deepEqual(m.body.principal, { kind: "user", id: m.body.account.id, name: "Ann Example" });
    assert.equal((await db.services.accounts.byOidc(idp.issuer, "ann"))?.id, m.body.account.id);
    const session = await db.services.sessions.lookup(b.cookie(db.url, SESSION)!);
    assert.equal(session?.via, "oidc");

    const created = (await db.services.audit.list({ type: "account.created" })).find(
      (e) => e.data.accountId === m.body.account.id,
    );
    assert.deepEqual(created?.data, { accountId: m.body.account.id, role: "member", via: "oidc" });
    assert.ok(!JSON.stringify(await db.services.audit.list()).includes("ann@example.com"), "no email in the audit log");
  });

  it("a member of an admin group is an admin from the first sign-in", async () => {
    people.rosa = { name: "Rosa Root", groups: ["databook-admins"] };
    const b = browser();
    assert.equal((await signIn(b, "rosa")).landedAt.href, `${db.url}/`);
    assert.equal((await me(db.url, b)).body.account.role, "admin");
  });

  it("later sign-ins keep the one account and follow the provider: name, groups and the admin role each time", async () => {
    people.bea = { name: "Bea", email: "bea@example.com", groups: ["sre"] };
    const first = browser();
    await signIn(first, "bea");
    const id = (await me(db.url, first)).body.account.id;

    people.bea = { name: "Bea Renamed", email: "bea@new.example", groups: ["sre", "databook-admins"] };
    const second = browser();
    await signIn(second, "bea");
    const promoted = (await me(db.url, second)).body.account;
    assert.deepEqual(
      [promoted.id, promoted.displayName, promoted.email, promoted.groups, promoted.role],
      [id, "Bea Renamed", "bea@new.example", ["sre", "databook-admins"], "admin"],
    );

    people.bea = { name: "Bea Renamed", groups: ["sre"] };
    const third = browser();
    await signIn(third, "bea");
    const demoted = (await me(db.url, third)).body.account;
    assert.deepEqual([demoted.id, demoted.role, demoted.groups], [id, "member", ["sre"]]);
    // the session of the earlier sign-in follows the account as it is now
    assert.equal((await me(db.url, first)).body.account.role, "member");
    assert.equal((await db.services.accounts.list()).filter((a) => a.oidc?.subject === "bea").length, 1);

    const changes = (await db.services.audit.list({ type: "account.changed" }))
      .filter((e) => e.data.accountId === id)
      .reverse()
      .map((e) => e.data.role);
    assert.deepEqual(changes, ["admin", "member"]);
  });

  it("someone in none of DATABOOK_OIDC_ALLOWED_GROUPS is refused with a page message, and gets no account or session", async () => {
    people.olaf = { name: "Olaf Outside", email: "olaf@example.com", groups: ["marketing"] };
    const b = browser();
    const { landedAt } = await signIn(b, "olaf");
    assert.equal(problemOf(landedAt), "oidc-not-allowed");
    assert.match(OIDC_PROBLEMS["oidc-not-allowed"], /not in a group allowed/);
    assert.equal(b.cookie(db.url, SESSION), undefined);
    assert.equal(await db.services.accounts.byOidc(idp.issuer, "olaf"), undefined);
    assert.equal((await me(db.url, b)).status, 401);
    const failed = (await db.services.audit.list({ type: "auth.failed" })).find(
      (e) => e.data.problem === "oidc-not-allowed",
    );
    assert.equal(failed?.data.via, "oidc");

    // someone who was allowed and has left the groups is refused the same way
    people.cara = { name: "Cara", groups: ["payments"] };
    assert.equal((await signIn(browser(), "cara")).landedAt.pathname, "/");
    people.cara = { name: "Cara", groups: ["marketing"] };
    const later = browser();
    assert.equal(problemOf((await signIn(later, "cara")).landedAt), "oidc-not-allowed");
    assert.equal(later.cookie(db.url, SESSION), undefined);
  });

  it("a group grant on a notebook gives its members that role; leaving the group closes their live connection", async () => {
    const owner = await db.user("owner-local");
    const nb = (await owner.api("/api/notebooks", "POST", { title: "payments outage", visibility: "restricted" })).body;
    await db.services.sharing.setRole(nb.id, { kind: "group", id: "payments" }, "editor", SYSTEM_PRINCIPAL);

    people.dan = { name: "Dan", groups: ["sre", "payments"] };
    people.eve = { name: "Eve", groups: ["sre"] };
    const dan = browser();
    await signIn(dan, "dan");
    const eve = browser();
    await signIn(eve, "eve");
    const read = async (b: CookieBrowser) => {
      const r = await b.request(`${db.url}/api/notebooks/${nb.id}`);
      return { status: r.response.status, role: ((await r.response.json()) as { role?: string }).role };
    };
    assert.deepEqual(await read(dan), { status: 200, role: "editor" });
    assert.equal((await read(eve)).status, 404);

    const danId = (await me(db.url, dan)).body.account.id;
    const live = callerAt(db.url, { kind: "user", id: danId, name: "Dan" }, dan.cookie(db.url, SESSION)!).ws(nb.id);
    let closedWith: number | undefined;
    live.provider.on("connection-close", (e: { code: number } | null) => {
      closedWith ??= e?.code;
    });
    try {
      await live.synced;
      people.dan = { name: "Dan", groups: ["sre"] };
      await signIn(browser(), "dan"); // signing in elsewhere brings the new groups
      await waitFor(() => closedWith !== undefined, "Dan's connection closed", 5_000);
      assert.equal(closedWith, CLOSE_CODES.ACCESS_REMOVED);
      assert.equal((await read(dan)).status, 404);
    } finally {
      live.destroy();
    }
  });

  it("the display name is name, else preferred_username — never the email, never with disguising characters", async () => {
    people.pat = { preferred_username: "pat.k", email: "pat@example.com", groups: ["sre"] };
    people.mal = { name: "Mallory\u202Etxt.exe", preferred_username: "mallory", groups: ["sre"] };
    people.zed = { email: "zed@example.com", groups: ["sre"] };
    const names: string[] = [];
    for (const login of ["pat", "mal", "zed"]) {
      const b = browser();
      await signIn(b, login);
      names.push((await me(db.url, b)).body.account.displayName);
    }
    assert.deepEqual(names, ["pat.k", "mallory", "OpenID user zed"]);
  });

  it("declining at the provider comes back as oidc-denied, signed out", async () => {
    people.dora = { name: "Dora", groups: ["sre"] };
    const b = browser();
    const { landedAt } = await signInAtProvider(b, start(), "dora", { consent: "cancel" });
    assert.equal(problemOf(landedAt), "oidc-denied");
    assert.equal(b.cookie(db.url, SESSION), undefined);
  });

  it("a disabled account is refused", async () => {
    people.finn = { name: "Finn", groups: ["sre"] };
    await signIn(browser(), "finn");
    await db.services.accounts.setDisabled((await db.services.accounts.byOidc(idp.issuer, "finn"))!.id, true);
    const b = browser();
    assert.equal(problemOf((await signIn(b, "finn")).landedAt), "oidc-disabled");
    assert.equal(b.cookie(db.url, SESSION), undefined);
  });

  it("a callback without state, with a forged state, or replayed is refused and signs no one in", async () => {
    const b = browser();
    const noState = await b.request(`${db.url}/auth/oidc/callback?code=abc`);
    assert.equal(problemOf(new URL(noState.location!)), "oidc-state");
    const forged = await b.request(`${db.url}/auth/oidc/callback?code=abc&state=forged-state-value`);
    assert.equal(problemOf(new URL(forged.location!)), "oidc-expired");
    assert.equal(b.cookie(db.url, SESSION), undefined);

    people.gus = { name: "Gus", groups: ["sre"] };
    const { landedAt: callback } = await signInAtProvider(b, start("/n/x"), "gus", { stopAtCallback: true });
    assert.equal(callback.pathname, "/auth/oidc/callback");
    const ok = await b.request(callback.href);
    assert.equal(ok.location, `${db.url}/n/x`);
    const session = b.cookie(db.url, SESSION);
    assert.ok(session);
    const replay = await b.request(callback.href);
    assert.equal(problemOf(new URL(replay.location!)), "oidc-expired");
    assert.equal(replay.response.headers.getSetCookie().length, 0, "the replay sets no cookie");
    const gus = (await db.services.accounts.byOidc(idp.issuer, "gus"))!;
    const sessions = (await db.services.sql.get<{ n: number }>("SELECT count(*) AS n FROM sessions WHERE user_id = ?", [
      gus.id,
    ]))!;
    assert.equal(sessions.n, 1);
  });

  it("login CSRF: a callback for a sign-in started in another browser is refused there, and is then spent", async () => {
    people.mallory = { name: "Mallory", groups: ["sre"] };
    const attacker = browser();
    const { landedAt: link } = await signInAtProvider(attacker, start(), "mallory", { stopAtCallback: true });
    const victim = browser();
    await victim.request(start()); // the victim may well have a sign-in of their own under way
    const opened = await victim.request(link.href);
    assert.equal(problemOf(new URL(opened.location!)), "oidc-state");
    assert.equal(victim.cookie(db.url, SESSION), undefined);
    const late = await attacker.request(link.href);
    assert.equal(problemOf(new URL(late.location!)), "oidc-expired");
  });

  it("next: only same-site paths; open-redirect attempts land on /", async () => {
    people.nia = { name: "Nia", groups: ["sre"] };
    const b = browser();
    for (const next of [
      "//evil.example",
      "https://evil.example",
      "/\\evil.example",
      "\\\\evil.example",
      "/\t/evil.example",
      "javascript:alert(1)",
      "http:/evil.example",
      "evil.example",
    ]) {
      const { landedAt } = await signIn(b, "nia", next);
      assert.equal(landedAt.href, `${db.url}/`, `next=${JSON.stringify(next)}`);
    }
    assert.equal((await signIn(b, "nia", "/n/abc#cell-2")).landedAt.href, `${db.url}/n/abc#cell-2`);
  });

  it(`start and callback are rate-limited per address (${SIGN_IN_LIMITS.perAddress} a minute)`, async () => {
    const b = browser();
    for (let i = 0; i < SIGN_IN_LIMITS.perAddress; i++)
      assert.equal((await b.request(start())).response.status, 303, `start ${i + 1}`);
    const over = await b.request(start());
    assert.equal(over.response.status, 429);
    assert.ok(Number(over.response.headers.get("retry-after")) > 0);
    // another address is not affected
    assert.equal((await browser().request(start())).response.status, 303);

    const c = browser();
    const callback = `${db.url}/auth/oidc/callback?code=x&state=guessed`;
    for (let i = 0; i < SIGN_IN_LIMITS.perAddress; i++)
      assert.equal((await c.request(callback)).response.status, 303, `callback ${i + 1}`);
    assert.equal((await c.request(callback)).response.status, 429);
  });

  it("/api/auth/config offers the button", async () => {
    const r = await fetch(`${db.url}/api/auth/config`);
    const body = (await r.json()) as { oidc?: { label: string; startUrl: string } };
    assert.deepEqual(body.oidc, { label: "Test IdP", startUrl: "/auth/oidc/start" });
  });
});

describe("OpenID provider availability", () => {
  it("a provider that is down does not stop Databook from starting; sign-in works once it is up, and a provider lost mid-sign-in is reported", async () => {
    const [idpPort, port] = [await freePort(), await freePort()];
    const clientSecret = "configured-before-the-provider-runs";
    const db = await startDatabook({ port, issuer: `http://localhost:${idpPort}`, clientSecret });
    let idp: RunningOidcProvider | undefined;
    try {
      assert.equal((await fetch(`${db.url}/healthz`)).status, 200);
      const down = await browser().request(`${db.url}/auth/oidc/start`);
      assert.equal(problemOf(new URL(down.location!)), "oidc-unavailable");
      assert.match(OIDC_PROBLEMS["oidc-unavailable"], /could not be reached/);

      // the same running server discovers the provider at the next sign-in
      idp = await startOidcProvider({
        port: idpPort,
        clientSecret,
        redirectUris: [`${db.url}/auth/oidc/callback`],
        people: { ivy: { name: "Ivy", groups: ["sre"] } },
      });
      const b = browser();
      const { landedAt } = await signInAtProvider(b, `${db.url}/auth/oidc/start`, "ivy");
      assert.equal(landedAt.href, `${db.url}/`);
      assert.equal((await me(db.url, b)).body.account.displayName, "Ivy");

      const mid = browser();
      const { landedAt: callback } = await signInAtProvider(mid, `${db.url}/auth/oidc/start`, "ivy", {
        stopAtCallback: true,
      });
      await idp.stop();
      idp = undefined;
      const lost = await mid.request(callback.href);
      assert.equal(problemOf(new URL(lost.location!)), "oidc-unavailable");
      assert.equal(mid.cookie(db.url, SESSION), undefined);
    } finally {
      await db.stop();
      await idp?.stop();
    }
  });

  it("without OIDC settings both routes answer oidc-off", async () => {
    const t = tempDir();
    const s = await startApp(t.dir);
    try {
      for (const path of ["/auth/oidc/start", "/auth/oidc/callback?code=a&state=b"]) {
        const r = await fetch(`${s.url}${path}`, { redirect: "manual" });
        assert.equal(r.status, 303);
        assert.equal(r.headers.get("location"), "/signin?problem=oidc-off");
      }
    } finally {
      await s.stop();
      t.cleanup();
    }
  });
});
