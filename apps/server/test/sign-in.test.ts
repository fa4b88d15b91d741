import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { PROTOCOL_VERSION } from "@databook/wire";
import * as awarenessProtocol from "y-protocols/awareness";
import * as Y from "yjs";
import { authSettingsFromEnv } from "../src/auth/config.ts";
import { api, type Caller, databook, signIn, spawnServer, startApp, tempDir, waitFor } from "./helpers.ts";

// Signing in, the first-admin link, rate limits, identity that cannot be forged, and no credential
// left behind anywhere: the server is run as `databook serve` with request logging on, so its
// log lines are checked too.

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

let dataDir: string;
let server: Awaited<ReturnType<typeof spawnServer>>;
/** Every password, session cookie and link secret this file uses: none may be stored or logged. */
const credentials: string[] = [];
const PASSWORD = "correct horse battery staple";

before(async () => {
  const t = tempDir();
  cleanups.push(t.cleanup);
  dataDir = t.dir;
  server = await spawnServer(dataDir, ["--log"]);
  cleanups.push(() => server.stop());
  credentials.push(PASSWORD);
});

const cookieOf = (r: Response) => /databook_session=([^;]+)/.exec(r.headers.get("set-cookie") ?? "")?.[1];

describe("signing in", () => {
  it("the first-admin link signs in once, then says it was used", async () => {
    await waitFor(() => /first admin/.test(server.output()), "the first-admin line");
    const link = /(http:\/\/\S+\/auth\/link\/(\S+))/.exec(server.output())!;
    credentials.push(link[2]!);
    const first = await fetch(link[1]!, { redirect: "manual" });
    assert.equal(first.status, 303);
    const cookie = cookieOf(first)!;
    credentials.push(cookie);
    assert.match(first.headers.get("set-cookie")!, /HttpOnly/i);
    assert.match(first.headers.get("set-cookie")!, /SameSite=Lax/i);
    const me = await api(`${server.url}/api/me`, "GET", undefined, { cookie: `databook_session=${cookie}` });
    assert.equal(me.body.account.role, "admin");
    assert.equal(me.body.account.username, "admin");
    const second = await fetch(link[1]!, { redirect: "manual" });
    assert.equal(second.headers.get("location"), "/signin?problem=link-used");
    // the admin sets a password on the account page
    const set = await api(
      `${server.url}/api/me`,
      "PATCH",
      { password: PASSWORD },
      {
        cookie: `databook_session=${cookie}`,
        origin: server.url,
      },
    );
    assert.equal(set.status, 200);
    assert.equal(set.body.account.hasPassword, true);
  });

  it("signs in with a password, rotating the session; a wrong password and an unknown name get the same answer", async () => {
    const planted = "planted-by-someone-else";
    const r = await fetch(`${server.url}/api/auth/signin`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: server.url, cookie: `databook_session=${planted}` },
      body: JSON.stringify({ username: "ADMIN", password: PASSWORD }),
    });
    assert.equal(r.status, 200);
    const cookie = cookieOf(r)!;
    credentials.push(cookie);
    assert.notEqual(cookie, planted, "a cookie set before sign-in never becomes a signed-in one");
    const wrong = await api(
      `${server.url}/api/auth/signin`,
      "POST",
      { username: "admin", password: "nope nope nope" },
      { origin: server.url },
    );
    const unknown = await api(
      `${server.url}/api/auth/signin`,
      "POST",
      { username: "nobody", password: "nope nope nope" },
      { origin: server.url },
    );
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.body, unknown.body);
  });

  it("the 11th sign-in attempt for one account from one address within a minute gets 429 with Retry-After; another account is not locked out", async () => {
    assert.equal((await databook(["users", "add", "oncall", "--password-stdin", "--data", dataDir], PASSWORD)).code, 0);
    assert.equal((await databook(["users", "add", "target", "--password-stdin", "--data", dataDir], PASSWORD)).code, 0);
    const attempt = (username: string, password: string) =>
      fetch(`${server.url}/api/auth/signin`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: server.url },
        body: JSON.stringify({ username, password }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await attempt("target", `guess-${i}-password`)).status);
    assert.deepEqual(statuses, Array(10).fill(401));
    const eleventh = await attempt("target", "guess-10-password");
    assert.equal(eleventh.status, 429);
    assert.match(eleventh.headers.get("retry-after") ?? "", /^\d+$/);
    assert.equal(((await eleventh.json()) as { error: { kind: string } }).error.kind, "too-many-requests");
    const other = await attempt("oncall", PASSWORD);
    assert.equal(other.status, 200, "the on-call admin still gets in");
    credentials.push(cookieOf(other)!);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /databook_sign_in_failures_total\{via="password"\} 1[0-9]/);
    assert.match(metrics, /databook_rate_limited_total\{group="sign-in-account"\} [1-9]/);
  });

  it("identity cannot be forged: a body user, X-Databook-User and another name in presence reach nobody", async () => {
    const admin = await signIn(server.url, "admin", PASSWORD);
    credentials.push(admin.headers.cookie!.split("=")[1]!);
    const mal = await signIn(server.url, "oncall", PASSWORD);
    const nb = (await admin.api("/api/notebooks", "POST", { title: "forgery" })).body;
    await admin.api(`/api/notebooks/${nb.id}/access/members`, "PUT", {
      subject: { kind: "user", id: mal.id },
      role: "editor",
    });
    const forged = "Eve The Forger";
    assert.equal((await mal.api(`/api/notebooks/${nb.id}`, "PATCH", { title: "t2", user: forged })).status, 400);
    assert.equal(
      (await mal.api(`/api/notebooks/${nb.id}`, "PATCH", { title: "t3" }, { "x-databook-user": forged })).status,
      400,
    );
    // presence: mallory publishes another name and claims the admin's awareness client id
    const watcher = admin.ws(nb.id);
    const m = mal.ws(nb.id);
    cleanups.push(watcher.destroy, m.destroy);
    await Promise.all([watcher.synced, m.synced]);
    m.provider.awareness.setLocalStateField("user", { name: forged, color: "#000" });
    const stolen = new awarenessProtocol.Awareness(new Y.Doc());
    stolen.clientID = watcher.doc.clientID;
    stolen.setLocalState({ user: { name: forged } });
    cleanups.push(() => stolen.destroy()); // its presence timer would keep the process alive
    m.provider.ws!.send(
      (() => {
        const enc = [1]; // y-websocket awareness message
        const u = awarenessProtocol.encodeAwarenessUpdate(stolen, [stolen.clientID]);
        return new Uint8Array([...enc, ...varUint(u.length), ...u]);
      })(),
    );
    assert.equal((await mal.api(`/api/notebooks/${nb.id}`, "PATCH", { title: "renamed by mallory" })).status, 200);
    await waitFor(
      () => [...watcher.provider.awareness.getStates().values()].some((s: any) => s.user?.name === "oncall"),
      "mallory's presence, under the server's name",
    );
    const names = [...watcher.provider.awareness.getStates().values()].map((s: any) => s.user?.name);
    assert.ok(!names.includes(forged), `presence names: ${names.join(", ")}`);
    const tl = JSON.stringify((await admin.api(`/api/notebooks/${nb.id}/timeline?view=raw`, "GET")).body);
    const md = (await admin.api(`/api/notebooks/${nb.id}/export.md`, "GET")).body as string;
    assert.equal(tl.includes(forged), false);
    assert.equal(md.includes(forged), false);
    assert.match(tl, /"actor":"oncall","actorKind":"user"/);
  });

  it("sends security headers: a CSP with frame-ancestors 'none', no framing, no referrer", async () => {
    const r = await fetch(`${server.url}/api/auth/config`);
    const csp = r.headers.get("content-security-policy") ?? "";
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /img-src 'self' data: blob:/);
    assert.doesNotMatch(csp, /unsafe-eval|script-src[^;]*unsafe-inline/);
    assert.equal(r.headers.get("x-frame-options"), "DENY");
    assert.equal(r.headers.get("referrer-policy"), "no-referrer");
    assert.equal(r.headers.get("x-content-type-options"), "nosniff");
  });

  it("leaves no password, session id or link secret in the data folder, the server log, exports or search", async () => {
    const admin = await signIn(server.url, "admin", PASSWORD);
    credentials.push(admin.headers.cookie!.split("=")[1]!);
    const nb = (await admin.api("/api/notebooks", "POST", { title: "leaks" })).body;
    const made = (await admin.api(`/api/notebooks/${nb.id}/share-links`, "POST", { label: "execs" })).body;
    const share = new URL(made.url).searchParams.get("share")!;
    credentials.push(share);
    const opened = await fetch(`${server.url}/n/${nb.id}?share=${share}`, { redirect: "manual" });
    credentials.push(cookieOf(opened)!);
    await fetch(`${server.url}/n/${nb.id}?token=${share}`, { redirect: "manual" });
    const exports = [
      (await admin.api(`/api/notebooks/${nb.id}/export.md`, "GET")).body as string,
      JSON.stringify((await admin.api(`/api/search?q=leaks`, "GET")).body),
      JSON.stringify((await admin.api(`/api/notebooks/${nb.id}/timeline?view=raw`, "GET")).body),
    ];
    await server.stop(); // flushes the WAL into the database file
    const files = readdirSync(dataDir, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile())
      .map((d) => readFileSync(join(d.parentPath, d.name)).toString("latin1"));
    // the one line meant to carry a secret: the first-admin link `databook serve` prints at start
    const output = server.output().replace(/^.*Sign in as the first admin.*$/m, "");
    const haystacks = [...files, output, server.errors(), ...exports];
    assert.ok(server.output().includes('"url":"/n/'), "request logging was on");
    for (const c of credentials)
      for (const h of haystacks) assert.equal(h.includes(c), false, `a credential (${c.slice(0, 4)}…) was left behind`);
    server = await spawnServer(dataDir);
  });
});

describe("Host and Origin settings", () => {
  it("DATABOOK_PUBLIC_URL and DATABOOK_ALLOWED_HOSTS decide which Host headers are answered", async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const s = await startApp(t.dir, {
      auth: authSettingsFromEnv({
        DATABOOK_PUBLIC_URL: "https://databook.example.com",
        DATABOOK_ALLOWED_HOSTS: "db.internal:8080",
      }),
    });
    cleanups.push(() => s.stop());
    const http = await import("node:http");
    const status = (host: string, origin?: string) =>
      new Promise<number>((resolve) =>
        http
          .get(`${s.url}/api/auth/config`, { headers: { host, ...(origin ? { origin } : {}) } }, (r) => {
            r.resume();
            resolve(r.statusCode ?? 0);
          })
          .end(),
      );
    assert.equal(await status("databook.example.com"), 200);
    assert.equal(await status("databook.example.com:443"), 200);
    assert.equal(await status("db.internal:8080"), 200);
    assert.equal(await status("db.internal:9999"), 421);
    assert.equal(await status("localhost:1234"), 200, "loopback names always");
    assert.equal(await status("evil.example"), 421);
    assert.equal(await status("databook.example.com", "https://databook.example.com"), 200);
    assert.equal(
      await status("databook.example.com", "http://databook.example.com"),
      403,
      "the scheme is part of the origin",
    );
    assert.equal(await status("databook.example.com", "https://evil.example"), 403);
    assert.throws(
      () => authSettingsFromEnv({ DATABOOK_ALLOWED_HOSTS: "https://x/y" }),
      (e: { message: string }) => /not a host/.test(e.message),
    );
    assert.throws(
      () => authSettingsFromEnv({ DATABOOK_PUBLIC_URL: "not a url" }),
      (e: { message: string }) => /not a URL/.test(e.message),
    );
  });

  it("a signed-in browser write without an Origin header is refused (cross-site request forgery)", async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const s = await startApp(t.dir);
    cleanups.push(() => s.stop());
    const ana: Caller = await s.user("ana");
    const noOrigin = await api(`${s.url}/api/notebooks`, "POST", { title: "x" }, { cookie: ana.headers.cookie! });
    assert.equal(noOrigin.status, 403);
    assert.match(noOrigin.body.error.message, /Origin/);
    const sock = await import("./helpers.ts").then((h) =>
      h.rawSocket(`${s.wsBase}/any?v=${PROTOCOL_VERSION}`, {
        cookie: ana.headers.cookie!,
        origin: "https://evil.example",
      }),
    );
    assert.equal(await sock.refused, 403, "cross-site WebSocket hijacking is refused at the upgrade");
  });
});

/** lib0's variable-length unsigned integer. */
function varUint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}
