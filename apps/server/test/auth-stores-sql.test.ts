import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type RunningPostgres, startPostgres } from "@databook/test-services";
import { type Principal, SYSTEM_PRINCIPAL } from "@databook/wire";
import { createAccounts } from "../src/auth/accounts.ts";
import { createGrants } from "../src/auth/grants.ts";
import { createIdentities, type Identity, viewableWhere } from "../src/auth/identity.ts";
import { createSessions, DEFAULT_SESSION_LIFETIMES } from "../src/auth/sessions.ts";
import { createShareLinks } from "../src/auth/share-links.ts";
import { createTokens } from "../src/auth/tokens.ts";
import type { Sql } from "../src/db/sql.ts";
import { appendToChain } from "../src/log/chain.ts";
import { createSharing } from "../src/notebooks/sharing.ts";
import { tempDir } from "./helpers.ts";
import { storeEngines } from "./postgres-databases.ts";

// Accounts, grants, share links and sharing on the async Sql interface, one test body run on a
// migrated SQLite file and on a migrated PostgreSQL database: the same answers, the same errors,
// a username race decided by the unique key, and every access change committed together with its
// incident-log entry (appended on the transaction by the real chain append) or not at all.

let pg: RunningPostgres;
const cleanups: (() => unknown)[] = [];

before(async () => {
  pg = await startPostgres();
  cleanups.push(() => pg.stop());
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const T0 = 1_790_000_000_000;

/** Rejects with `{ kind, message }` of this kind and a message matching `re`. */
async function refused(p: Promise<unknown>, kind: string, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: { kind?: string; message?: string }) => {
    assert.equal(e.kind, kind, JSON.stringify(e));
    assert.match(e.message ?? "", re);
    return true;
  });
}

/** The stores on `sql`, with a clock the test moves and the incident log appended on the transaction. */
function storesOn(sql: Sql) {
  let now = T0;
  const clock = () => now;
  const accounts = createAccounts(sql, clock);
  const grants = createGrants(sql, clock);
  const shareLinks = createShareLinks(sql, clock);
  let failNextAppend = false;
  const sharing = createSharing({
    sql,
    accounts,
    grants,
    shareLinks,
    appendLog: async (e, { tx }) => {
      const entry = await appendToChain(tx, "log_entries", e);
      if (failNextAppend) {
        failNextAppend = false;
        throw { kind: "internal", message: "the log append failed after writing" };
      }
      return entry;
    },
    onAccessChanged: () => {},
    nowMs: clock,
  });
  const identities = createIdentities({
    sql,
    accounts,
    sessions: createSessions(sql, DEFAULT_SESSION_LIFETIMES, clock),
    shareLinks,
    grants,
    tokens: createTokens(sql, clock),
  });
  return {
    accounts,
    grants,
    shareLinks,
    sharing,
    identities,
    tick: (ms: number) => {
      now += ms;
    },
    failNextAppend: () => {
      failNextAppend = true;
    },
    logTypes: async (notebookId: string) =>
      (
        await sql.all<{ type: string }>("SELECT type FROM log_entries WHERE notebook_id = ? ORDER BY seq", [notebookId])
      ).map((r) => r.type),
    notebook: (id: string, visibility: "signed-in" | "restricted") =>
      sql.run(
        "INSERT INTO notebooks (id, title, time_range, created_at_ms, updated_at_ms, visibility) VALUES (?, ?, ?, ?, ?, ?)",
        [id, `notebook ${id}`, JSON.stringify({ kind: "relative", seconds: 3600 }), now, now, visibility],
      ),
  };
}

async function accountsBehave(sql: Sql) {
  const s = storesOn(sql);
  assert.equal(await s.accounts.count(), 0);
  const ana = await s.accounts.create({
    username: "Ana",
    displayName: "Ana A",
    password: "correct horse battery",
    role: "member",
  });
  assert.deepEqual(
    { ...ana, id: "" },
    {
      id: "",
      username: "ana",
      displayName: "Ana A",
      role: "member",
      disabled: false,
      hasPassword: true,
      groups: [],
      createdAtMs: T0,
    },
  );
  assert.deepEqual(await s.accounts.byUsername(" ANA "), ana);
  assert.match((await s.accounts.passwordHashOf("ana")) ?? "", /\S{20,}/);
  await refused(s.accounts.create({ username: "ana", role: "admin" }), "bad-input", /'ana' is taken; pick another/);

  // two sign-ups for one name at once: both pass the first check while hashing; the key decides
  const race = await Promise.allSettled([
    s.accounts.create({ username: "bo", password: "first long password", role: "member" }),
    s.accounts.create({ username: "bo", password: "second long password", role: "member" }),
  ]);
  assert.deepEqual(race.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
  assert.deepEqual(race.find((r): r is PromiseRejectedResult => r.status === "rejected")?.reason, {
    kind: "bad-input",
    message: "the username 'bo' is taken; pick another",
  });

  const oidc = await s.accounts.create({
    displayName: "Cy",
    role: "admin",
    oidc: { issuer: "https://idp.example", subject: "cy", groups: ["sre"] },
  });
  assert.deepEqual(await s.accounts.byOidc("https://idp.example", "cy"), oidc);
  s.tick(1000);
  const updated = await s.accounts.updateFromOidc(oidc.id, { displayName: "Cy Z", groups: ["sre", "payments"] });
  assert.deepEqual([updated.displayName, updated.groups], ["Cy Z", ["sre", "payments"]]);
  assert.deepEqual(
    (await s.accounts.list()).map((a) => a.displayName),
    ["Cy Z", "Ana A", "bo"],
  );
  assert.equal(await s.accounts.adminCount(), 1);
  assert.equal((await s.accounts.setDisabled(oidc.id, true)).disabled, true);
  assert.equal(await s.accounts.adminCount(), 0);
  assert.equal((await s.accounts.setRole(ana.id, "admin")).role, "admin");
  await refused(s.accounts.setDisplayName(ana.id, "a\nb"), "bad-input", /display name/);
  assert.equal((await s.accounts.setDisplayName(ana.id, "Ana B")).displayName, "Ana B");
  assert.equal(await s.accounts.count(), 3);
}

async function rolesAndLinksBehave(sql: Sql) {
  const s = storesOn(sql);
  const owner = await s.accounts.create({ username: "olga", role: "member" });
  const ed = await s.accounts.create({ username: "ed", role: "member" });
  const stranger = await s.accounts.create({ username: "stan", role: "member" });
  await s.notebook("nb1", "restricted");
  await s.notebook("nb2", "signed-in");
  await s.notebook("orphan", "restricted");
  const by: Principal = { kind: "user", id: owner.id, name: "olga" };

  await s.grants.set("nb1", { kind: "user", id: owner.id }, "owner");
  await s.sharing.setRole("nb1", { kind: "user", id: ed.id }, "viewer", by);
  await s.sharing.setRole("nb1", { kind: "group", id: "payments" }, "editor", by);
  assert.equal(await s.grants.roleOf("nb1", ed.id, []), "viewer");
  assert.equal(await s.grants.roleOf("nb1", ed.id, ["payments"]), "editor", "the stronger of own and group grant");
  assert.equal(await s.grants.roleOf("nb1", stranger.id, ["sre"]), undefined);
  assert.deepEqual((await s.sharing.members("nb1")).map((m) => `${m.name}: ${m.role}`).sort(), [
    "ed: viewer",
    "group payments: editor",
    "olga: owner",
  ]);

  // the access decision and the listing condition agree, on this dialect
  const as = (a: typeof ed, groups: string[]): Identity => ({
    principal: { kind: "user", id: a.id, name: a.displayName },
    account: { ...a, groups },
    credential: "session",
  });
  assert.equal(await s.identities.roleOn(as(ed, ["payments"]), { id: "nb1", visibility: "restricted" }), "editor");
  assert.equal(await s.identities.roleOn(as(stranger, []), { id: "nb1", visibility: "restricted" }), undefined);
  assert.equal(await s.identities.roleOn(as(stranger, []), { id: "nb2", visibility: "signed-in" }), "viewer");
  const viewable = async (id: Identity) => {
    const w = viewableWhere(id);
    return (await sql.all<{ id: string }>(`SELECT n.id FROM notebooks n WHERE (${w.sql}) ORDER BY n.id`, w.params)).map(
      (r) => r.id,
    );
  };
  assert.deepEqual(await viewable(as(stranger, [])), ["nb2"]);
  assert.deepEqual(await viewable(as(stranger, ["payments", "sre"])), ["nb1", "nb2"]);

  // the last owner stays; a refused or failed change leaves no grant and no entry
  await refused(s.sharing.remove("nb1", { kind: "user", id: owner.id }, by), "bad-input", /only owner/);
  await refused(s.sharing.setRole("nb1", { kind: "user", id: owner.id }, "editor", by), "bad-input", /only owner/);
  await refused(
    s.sharing.setRole("nb1", { kind: "user", id: "nobody" }, "editor", by),
    "not-found",
    /no account nobody/,
  );
  await refused(s.sharing.remove("nb1", { kind: "user", id: stranger.id }, by), "not-found", /stan has no role/);
  s.failNextAppend();
  await refused(s.sharing.setRole("nb1", { kind: "user", id: stranger.id }, "editor", by), "internal", /log append/);
  assert.equal(await s.grants.get("nb1", { kind: "user", id: stranger.id }), undefined, "rolled back with the entry");
  await s.sharing.remove("nb1", { kind: "user", id: ed.id }, by);
  assert.equal(await s.grants.roleOf("nb1", ed.id, []), undefined);
  assert.equal(await s.sharing.setVisibility("nb1", "signed-in", by), "signed-in");
  assert.deepEqual(await s.logTypes("nb1"), [
    "access.granted",
    "access.granted",
    "access.removed",
    "notebook.visibility-changed",
  ]);

  // share links: made with an entry, opened by their secret, revoked once
  const { link, secret } = await s.sharing.createLink("nb1", { label: "execs", expiresAtMs: T0 + 60_000 }, by);
  assert.match(secret, /^dbs_/);
  assert.deepEqual(await s.shareLinks.bySecret(secret), link);
  assert.equal(s.shareLinks.isLive(link), true);
  assert.equal(await s.shareLinks.bySecret(`${secret}x`), undefined);
  await refused(s.sharing.revokeLink("nb2", link.id, by), "not-found", /no share link/);
  const revoked = await s.sharing.revokeLink("nb1", link.id, by);
  assert.equal(revoked.revokedAtMs, T0);
  assert.equal(s.shareLinks.isLive(revoked), false);
  assert.equal(await s.shareLinks.revoke(link.id), false, "already revoked");
  const late = await s.sharing.createLink("nb1", { label: "short", expiresAtMs: T0 + 1000 }, SYSTEM_PRINCIPAL);
  s.tick(2000);
  assert.equal(s.shareLinks.isLive(await s.shareLinks.get(late.link.id)), false, "past its expiry");
  assert.deepEqual((await s.sharing.links("nb1")).map((l) => l.label).sort(), ["execs", "short"]);
  assert.deepEqual((await s.logTypes("nb1")).slice(-3), [
    "share-link.created",
    "share-link.revoked",
    "share-link.created",
  ]);

  // notebooks without an owner go to the admin, each with its entry
  const admin = await s.accounts.create({ username: "root", role: "admin" });
  assert.equal(await s.sharing.adoptOrphans(admin), 2);
  assert.equal((await s.grants.get("orphan", { kind: "user", id: admin.id }))?.role, "owner");
  assert.deepEqual(await s.logTypes("orphan"), ["access.granted"]);
  assert.equal(await s.sharing.adoptOrphans(admin), 0);
}

for (const [name, open] of storeEngines(
  () => pg,
  "auth_stores",
  (c) => cleanups.push(c),
)) {
  describe(`accounts, grants and share links on ${name}`, () => {
    let sql: Sql;
    before(async () => {
      sql = await open();
    });
    it("creates, finds and changes accounts; a taken username is refused, also in a race", () => accountsBehave(sql));
    it("grants roles to people and groups, keeps an owner, logs every change with it, and serves share links", () =>
      rolesAndLinksBehave(sql));
  });
}
