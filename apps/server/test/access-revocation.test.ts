import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CLOSE_CODES, PROTOCOL_VERSION } from "@databook/wire";
import { cliEnvFor } from "./app-storage.ts";
import { addCell, type Caller, cellText, databook, rawSocket, startApp, tempDir, waitFor } from "./helpers.ts";

// Taking access away reaches open pages at once: each kind of change closes (or reconnects) the
// live socket within a generous bound, and the next request is refused. The benchmark
// (bench/identity) prints the real time from a change to the close.

const BOUND_MS = 5_000;
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

let s: Awaited<ReturnType<typeof startApp>>;
let dataDir: string;
let owner: Caller;

before(async () => {
  const t = tempDir();
  cleanups.push(t.cleanup);
  dataDir = t.dir;
  s = await startApp(t.dir);
  cleanups.push(() => s.stop());
  owner = await s.user("olga");
});

/** A raw socket to notebook `id` as `who`; resolves with the first close code. */
async function follow(id: string, headers: Record<string, string>) {
  const sock = rawSocket(`${s.wsBase}/${id}?v=${PROTOCOL_VERSION}`, headers);
  await sock.opened;
  cleanups.push(() => sock.ws.terminate());
  return { closed: sock.closed, sock };
}

async function closesWithin(p: Promise<{ code: number }>, code: number, what: string) {
  const t0 = Date.now();
  const timer = new Promise<{ code: number }>((_, rej) =>
    setTimeout(() => rej(new Error(`${what}: no close within ${BOUND_MS} ms`)), BOUND_MS),
  );
  const c = await Promise.race([p, timer]);
  assert.equal(c.code, code, what);
  assert.ok(Date.now() - t0 < BOUND_MS);
}

const newNotebook = async (title: string, visibility: "signed-in" | "restricted" = "restricted") =>
  (await owner.api("/api/notebooks", "POST", { title, visibility })).body as { id: string };

describe("revocation reaches live connections", () => {
  it("a removed member's socket closes with ACCESS_REMOVED and their next request is refused", async () => {
    const nb = await newNotebook("removed member");
    const mia = await s.user("mia");
    await s.grant(nb.id, mia, "editor");
    const f = await follow(nb.id, mia.headers);
    const r = await owner.api(`/api/notebooks/${nb.id}/access/members/user/${mia.id}`, "DELETE");
    assert.equal(r.status, 200);
    await closesWithin(f.closed, CLOSE_CODES.ACCESS_REMOVED, "the removed member's socket");
    assert.equal((await mia.api(`/api/notebooks/${nb.id}`, "GET")).status, 404);
  });

  it("a lowered role reconnects with RIGHTS_CHANGED, and after reconnecting the edits are dropped", async () => {
    const nb = await newNotebook("lowered role");
    const ned = await s.user("ned");
    await s.grant(nb.id, ned, "editor");
    const ed = owner.ws(nb.id);
    const c = ned.ws(nb.id);
    cleanups.push(ed.destroy, c.destroy);
    await Promise.all([ed.synced, c.synced]);
    const codes: number[] = [];
    c.provider.on("connection-close", (e: { code: number } | null) => e && codes.push(e.code));
    const r = await owner.api(`/api/notebooks/${nb.id}/access/members`, "PUT", {
      subject: { kind: "user", id: ned.id },
      role: "viewer",
    });
    assert.equal(r.status, 200);
    await waitFor(() => codes.includes(CLOSE_CODES.RIGHTS_CHANGED), "the rights-changed close", BOUND_MS);
    await waitFor(() => c.provider.wsconnected && c.provider.synced, "the reconnect as a viewer", BOUND_MS);
    addCell(c.doc, "x", "written as a viewer");
    addCell(ed.doc, "y", "written by the owner");
    await waitFor(() => cellText(c.doc, "y") !== undefined, "the owner's cell at the viewer");
    assert.equal(cellText(ed.doc, "x"), undefined, "the viewer's edit never reached anyone");
    assert.equal((await ned.api(`/api/notebooks/${nb.id}`, "PATCH", { title: "x" })).status, 403);
  });

  it("a revoked share link closes the stakeholder's socket and their next request is refused", async () => {
    const nb = await newNotebook("revoked link");
    const stake = await s.stakeholder(nb.id, "execs");
    const f = await follow(nb.id, stake.headers);
    const r = await owner.api(`/api/notebooks/${nb.id}/share-links/${stake.linkId}`, "DELETE");
    assert.equal(r.status, 200);
    await closesWithin(f.closed, CLOSE_CODES.ACCESS_REMOVED, "the stakeholder's socket");
    const again = await stake.api(`/api/notebooks/${nb.id}`, "GET");
    assert.equal(again.status, 401);
    assert.match(again.body.error.message, /revoked or has expired/);
  });

  it("an account disabled from the CLI (another process) is signed out everywhere at once", async () => {
    const nb = await newNotebook("disabled by cli", "signed-in");
    const dan = await s.user("dan");
    const f = await follow(nb.id, dan.headers);
    const r = await databook(["users", "disable", "dan", "--data", dataDir], undefined, cliEnvFor(dataDir));
    assert.equal(r.code, 0, r.stderr);
    await closesWithin(f.closed, CLOSE_CODES.SESSION_ENDED, "the disabled account's socket");
    assert.equal((await dan.api("/api/notebooks", "GET")).status, 401);
  });

  it("a token revoked from the CLI closes its sockets and is refused on the next call", async () => {
    const nb = await newNotebook("token revoked", "signed-in");
    const { token, secret } = await s.services.tokens.create({ ownerId: owner.id!, name: "robot", scopes: ["read"] });
    const f = await follow(nb.id, { authorization: `Bearer ${secret}` });
    const r = await databook(["tokens", "revoke", token.id, "--data", dataDir], undefined, cliEnvFor(dataDir));
    assert.equal(r.code, 0, r.stderr);
    await closesWithin(f.closed, CLOSE_CODES.SESSION_ENDED, "the token's socket");
    const again = await fetch(`${s.url}/api/notebooks`, { headers: { authorization: `Bearer ${secret}` } });
    assert.equal(again.status, 401);
    assert.match(((await again.json()) as { error: { message: string } }).error.message, /revoked/);
  });

  it("signing out closes that session's sockets; other sessions of the person stay", async () => {
    const nb = await newNotebook("sign out", "signed-in");
    const one = await s.user("sol");
    const two = await s.user("sol");
    const a = await follow(nb.id, one.headers);
    const b = await follow(nb.id, two.headers);
    assert.equal((await one.api("/api/auth/signout", "POST", {})).status, 200);
    await closesWithin(a.closed, CLOSE_CODES.SESSION_ENDED, "the signed-out session's socket");
    assert.equal(b.sock.ws.readyState, b.sock.ws.OPEN, "another browser of the same person stays");
    assert.equal((await two.api("/api/auth/signout-everywhere", "POST", {})).status, 200);
    await closesWithin(b.closed, CLOSE_CODES.SESSION_ENDED, "sign out everywhere");
  });
});
