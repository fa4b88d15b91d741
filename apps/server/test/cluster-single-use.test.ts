import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  freePort,
  type OidcTestPerson,
  type RunningOidcProvider,
  type RunningPostgres,
  type RunningRedis,
  startOidcProvider,
  startPostgres,
  startRedis,
} from "@databook/test-services";
import { generateSigningKey, type SigningKey } from "@databook/tlog";
import { authSettingsFromEnv } from "../src/auth/config.ts";
import { SIGN_IN_LIMITS } from "../src/routes/auth.ts";
import { TIMELINE_WRITE_LIMIT } from "../src/routes/timeline.ts";
import { type CookieBrowser, cookieBrowser, signInAtProvider } from "./cookie-browser.ts";
import { api } from "./helpers.ts";
import { type PgNode, startPgNode } from "./pg-node.ts";
import { migratedDatabases } from "./postgres-databases.ts";

// Exactly once across nodes (issue 16, "Exactly-once where it matters"): two Databook nodes on one
// PostgreSQL database and one redis-server, a real OpenID Provider in front. A sign-in started on
// one node finishes on the other; whatever is single-use is used once in the whole cluster; rate
// limits count across the nodes, and let requests through while Redis is down.

let pg: RunningPostgres;
let redis: RunningRedis;
let idp: RunningOidcProvider;
let nextDb: () => Promise<string>;
const idpPeople: Record<string, OidcTestPerson> = {};
const cleanups: (() => unknown)[] = [];
type Node = PgNode;
let A: Node;
let B: Node;
/** The public URL both nodes name (A's address: the balancer a browser talks to). */
let publicPort: number;

/** One node on `dbUrl` in cluster mode, trusting X-Forwarded-For (each test browser is its own address). */
function startNode(dbUrl: string, key: SigningKey, port = 0): Promise<Node> {
  const auth = authSettingsFromEnv({
    DATABOOK_PUBLIC_URL: `http://127.0.0.1:${publicPort}`,
    DATABOOK_OIDC_ISSUER: idp.issuer,
    DATABOOK_OIDC_CLIENT_ID: idp.clientId,
    DATABOOK_OIDC_CLIENT_SECRET: idp.clientSecret,
  });
  return startPgNode({ dbUrl, key, cleanups, redisUrl: redis.url, port, app: { auth, trustProxy: true } });
}

before(async () => {
  [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  publicPort = await freePort();
  idp = await startOidcProvider({
    redirectUris: [`http://127.0.0.1:${publicPort}/auth/oidc/callback`],
    people: idpPeople,
  });
  nextDb = migratedDatabases(pg, "single_use");
  const dbUrl = await nextDb();
  const key = generateSigningKey("databook-single-use-test");
  A = await startNode(dbUrl, key, publicPort);
  B = await startNode(dbUrl, key);
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await idp?.stop();
  await redis?.stop();
  await pg?.stop();
});

let address = 1;
const browser = (): CookieBrowser => cookieBrowser({ forwardedFor: `10.0.0.${++address}` });
const problemOf = (location: string | undefined) => {
  const u = new URL(location ?? "http://x/no-redirect");
  return u.pathname === "/signin" ? u.searchParams.get("problem") : `not refused: ${u.href}`;
};
/** The same request path and query on another node (where the balancer sent it). */
const on = (n: Node, url: URL) => `${n.url}${url.pathname}${url.search}`;

describe("single sign-on across two nodes", () => {
  it("a sign-in started on A finishes on B; the callback replayed on either node is refused", async () => {
    idpPeople.ann = { name: "Ann", groups: ["sre"] };
    const b = browser();
    const { landedAt: callback } = await signInAtProvider(b, `${A.url}/auth/oidc/start?next=/n/x`, "ann", {
      stopAtCallback: true,
    });
    assert.equal(callback.pathname, "/auth/oidc/callback");
    const done = await b.request(on(B, callback));
    assert.equal(done.location, `${B.url}/n/x`, "signed in on B");
    const session = b.cookie(B.url, "databook_session");
    assert.ok(session);
    const me = await api(`${A.url}/api/me`, "GET", undefined, { cookie: `databook_session=${session}` });
    assert.equal(me.body.account?.displayName, "Ann", "the session works on A too (one database)");
    for (const n of [A, B]) {
      const replay = await b.request(on(n, callback));
      assert.equal(problemOf(replay.location), "oidc-expired", `replayed on ${n.url}`);
      assert.equal(replay.response.headers.getSetCookie().length, 0, "a replay sets no cookie");
    }
    const keys = await redisCommand("KEYS", "databook:take:oidc-sign-in:*");
    assert.deepEqual(keys, [], "the attempt is gone from Redis");
  });

  it("login CSRF across nodes: a callback started in another browser is refused on B, and is then spent on A", async () => {
    idpPeople.mallory = { name: "Mallory", groups: ["sre"] };
    const attacker = browser();
    const { landedAt: link } = await signInAtProvider(attacker, `${A.url}/auth/oidc/start`, "mallory", {
      stopAtCallback: true,
    });
    const victim = browser();
    await victim.request(`${B.url}/auth/oidc/start`); // a sign-in of the victim's own, under way on B
    const opened = await victim.request(on(B, link));
    assert.equal(problemOf(opened.location), "oidc-state");
    assert.equal(victim.cookie(B.url, "databook_session"), undefined);
    const late = await attacker.request(on(A, link));
    assert.equal(problemOf(late.location), "oidc-expired");
    assert.equal(attacker.cookie(A.url, "databook_session"), undefined);
  });

  it("the attempt held in Redis names the browser only by a hash, and expires with the attempt", async () => {
    const b = browser();
    const start = await b.request(`${B.url}/auth/oidc/start`);
    assert.equal(start.response.status, 303);
    const state = new URL(start.location!).searchParams.get("state")!;
    const key = `databook:take:oidc-sign-in:${state}`;
    const held = (await redisCommand("GET", key)) as string | null;
    const binding = b.cookie(B.url, "databook_oidc")!;
    assert.ok(held && !held.includes(binding), "the binding cookie itself is not stored");
    const ttl = Number(await redisCommand("PTTL", key));
    assert.ok(ttl > 0 && ttl <= 10 * 60_000, `expires with the attempt: ${ttl} ms`);
  });
});

describe("single-use things are used once in the cluster", () => {
  it("first-admin links printed by two nodes and opened at once make one admin; a used link is refused on the other node", async () => {
    const dbUrl = await nextDb();
    const key = generateSigningKey("databook-first-admin-test");
    const [C, D] = [await startNode(dbUrl, key), await startNode(dbUrl, key)];
    const links = [
      await C.app.services.signInLinks.issueFirstAdmin(),
      await D.app.services.signInLinks.issueFirstAdmin(),
    ];
    const open = (n: Node, secret: string) => fetch(`${n.url}/auth/link/${secret}`, { redirect: "manual" });
    const [onC, onD] = await Promise.all([open(C, links[0]!), open(D, links[1]!)]);
    const places = [onC, onD].map((r) => new URL(r.headers.get("location")!, C.url));
    const won = places.filter((u) => u.pathname === "/account").length;
    assert.equal(won, 1, `one admin: ${places.map((u) => u.href)}`);
    assert.ok(
      places.some((u) => u.searchParams.get("problem") === "link-not-needed"),
      places.map((u) => u.href).join(" "),
    );
    const accounts = await C.app.services.accounts.list();
    assert.deepEqual(
      accounts.map((a) => a.role),
      ["admin"],
    );
    // the link that won, opened again on the other node
    const winner =
      places[0]!.pathname === "/account" ? { secret: links[0]!, other: D } : { secret: links[1]!, other: C };
    const again = await open(winner.other, winner.secret);
    assert.equal(new URL(again.headers.get("location")!, C.url).searchParams.get("problem"), "link-used");
  });

  it("an API token's first use is recorded once, however many nodes see it first", async () => {
    const owner = await A.people.user("tess");
    const { token, secret } = await A.app.services.tokens.create({ ownerId: owner.id!, name: "bot", scopes: ["read"] });
    const calls = [A, B, A, B, A, B].map((n) =>
      fetch(`${n.url}/api/notebooks`, { headers: { authorization: `Bearer ${secret}` } }),
    );
    assert.deepEqual(
      (await Promise.all(calls)).map((r) => r.status),
      [200, 200, 200, 200, 200, 200],
    );
    const firstUses = (await A.app.services.audit.list({ type: "token.first-use" })).filter(
      (e) => e.data.tokenId === token.id,
    );
    assert.equal(firstUses.length, 1);
  });

  it("share links are not single-use: one opened on A opens on B too (many stakeholders share one link)", async () => {
    const owner = await A.people.user("sam");
    const nb = (await owner.api("/api/notebooks", "POST", { title: "shared" })).body as { id: string };
    const made = await owner.api(`/api/notebooks/${nb.id}/share-links`, "POST", { label: "execs" });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const secret = new URL(made.body.url).searchParams.get("share");
    for (const n of [A, B]) {
      const r = await fetch(`${n.url}/n/${nb.id}?share=${secret}`, { redirect: "manual" });
      assert.equal(r.status, 303);
      assert.match(r.headers.get("set-cookie") ?? "", /databook_session=/, `a session on ${n.url}`);
    }
  });
});

describe("rate limits count across the nodes", () => {
  it("sign-in attempts used up half on A and half on B are refused on B, then on A", async () => {
    const from = { "x-forwarded-for": "10.1.0.1" };
    const attempt = (n: Node) =>
      api(`${n.url}/api/auth/signin`, "POST", { username: "nobody", password: "wrong password" }, from);
    const half = SIGN_IN_LIMITS.perAccountAndAddress / 2;
    for (let i = 0; i < half; i++) assert.equal((await attempt(A)).status, 401, `attempt ${i + 1} on A`);
    for (let i = 0; i < half; i++) assert.equal((await attempt(B)).status, 401, `attempt ${i + 1} on B`);
    const overB = await attempt(B);
    assert.equal(overB.status, 429, JSON.stringify(overB.body));
    assert.equal((await attempt(A)).status, 429);
  });

  it("the timeline write budget is one budget across the nodes", async () => {
    const onA = await A.people.user("tim");
    const onB = await B.people.user("tim");
    const nb = (await onA.api("/api/notebooks", "POST", { title: "budget" })).body as { id: string };
    const path = `/api/notebooks/${nb.id}/timeline/notes`;
    const note = (i: number) => ({ eventAtMs: Date.now() - 60_000, label: "detected", text: `note ${i}` });
    const half = TIMELINE_WRITE_LIMIT.max / 2;
    for (let i = 0; i < half; i++) assert.equal((await onA.api(path, "POST", note(i))).status, 201);
    for (let i = 0; i < half; i++) assert.equal((await onB.api(path, "POST", note(half + i))).status, 201);
    const over = await onB.api(path, "POST", note(-1));
    assert.equal(over.status, 429, JSON.stringify(over.body));
    assert.match(over.body.error.message, /more than 60 timeline notes/);
    assert.equal((await onA.api(path, "POST", note(-2))).status, 429);
    const notes = (await A.app.log.entries(nb.id)).filter((e) => e.type === "timeline.note-added");
    assert.equal(notes.length, TIMELINE_WRITE_LIMIT.max);
  });

  it("while Redis is down, limits let requests through and a new sign-in is refused with a message (not hung)", async () => {
    const from = { "x-forwarded-for": "10.2.0.1" };
    const attempt = (n: Node) =>
      api(`${n.url}/api/auth/signin`, "POST", { username: "nobody2", password: "wrong password" }, from);
    for (let i = 0; i < SIGN_IN_LIMITS.perAccountAndAddress; i++) await attempt(i % 2 ? A : B);
    assert.equal((await attempt(B)).status, 429, "used up");
    await redis.kill();
    try {
      assert.equal((await attempt(B)).status, 401, "let through: the password is checked (and wrong)");
      assert.equal((await attempt(A)).status, 401);
      const b = browser();
      const start = await b.request(`${A.url}/auth/oidc/start`);
      assert.equal(problemOf(start.location), "oidc-busy", "no attempt could be kept: refused, not lost later");
    } finally {
      await redis.restart();
    }
    // Redis came back empty: the counts start over, and sign-ins work again
    await waitForRedis();
    assert.equal((await attempt(B)).status, 401);
    idpPeople.rea = { name: "Rea", groups: ["sre"] };
    const b = browser();
    const { landedAt } = await signInAtProvider(b, `${A.url}/auth/oidc/start`, "rea", { stopAtCallback: true });
    assert.equal((await b.request(on(B, landedAt))).location, `${B.url}/`);
  });
});

/** Sends one command to the test's Redis on a connection of the test's own. */
async function redisCommand(...args: string[]): Promise<unknown> {
  const { Redis } = await import("ioredis");
  const r = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await r.connect();
    return await r.call(args[0]!, ...args.slice(1));
  } finally {
    r.disconnect();
  }
}

/** Waits until both nodes' shared-state connections answer again after a restart. */
async function waitForRedis(): Promise<void> {
  const end = Date.now() + 10_000;
  for (;;) {
    try {
      await Promise.all(
        [A, B].map((n) => n.app.services.clusterState!.shared.consumeOnce("probe", `${Math.random()}`, 1000)),
      );
      return;
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
