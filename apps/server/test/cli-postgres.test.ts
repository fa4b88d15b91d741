import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type RunningPostgres, type RunningRedis, startPostgres, startRedis } from "@databook/test-services";
import { CLOSE_CODES, PROTOCOL_VERSION } from "@databook/wire";
import { createSigningKeyFile } from "../src/log/signing-key.ts";
import { databook, rawSocket, tempDir, waitFor } from "./helpers.ts";
import { type PgNode, startPgNode } from "./pg-node.ts";
import { migratedDatabases } from "./postgres-databases.ts";

// The `databook` command line on PostgreSQL (DATABOOK_DATABASE_URL, as `databook serve` uses it),
// run as real child processes: what it changes reaches the open connections of running servers
// through LISTEN/NOTIFY — one server, and two nodes in cluster mode — and `log verify` and
// `export` read the PostgreSQL database.

/** Generous: a NOTIFY crosses PostgreSQL and a recheck on each server (the benchmark prints the real time). */
const BOUND_MS = 10_000;

let pg: RunningPostgres;
let redis: RunningRedis;
let nextDb: () => Promise<string>;
const cleanups: (() => unknown)[] = [];
const folder = tempDir("databook-cli-pg-");
const keyFile = join(folder.dir, "signing-key");
const key = createSigningKeyFile(keyFile, "databook-cli-test");
const startNode = (dbUrl: string, cluster = false) =>
  startPgNode({
    dbUrl,
    key,
    cleanups,
    app: { checkpointDelayMs: 50 },
    ...(cluster ? { redisUrl: redis.url } : {}),
  });

/** A notebook `title` open to signed-in people on `n`, and `username`'s socket following it there. */
async function followerOn(n: PgNode, title: string, username: string) {
  const owner = await n.people.user("olga");
  const nb = (await owner.api("/api/notebooks", "POST", { title, visibility: "signed-in" })).body as { id: string };
  const who = await n.people.user(username);
  return { nb, who, sock: await follow(n, nb.id, who.headers) };
}

/** The CLI against `dbUrl`, with an empty `--data` folder (PostgreSQL holds everything but the key). */
const cli = (dbUrl: string, args: string[], input?: string) =>
  databook([...args, "--data", join(folder.dir, "unused")], input, {
    DATABOOK_DATABASE_URL: dbUrl,
    DATABOOK_SIGNING_KEY_FILE: keyFile,
  });

async function follow(n: PgNode, notebookId: string, headers: Record<string, string>) {
  const sock = rawSocket(`${n.wsBase}/${notebookId}?v=${PROTOCOL_VERSION}`, headers);
  await sock.opened;
  cleanups.push(() => sock.ws.terminate());
  return sock;
}

async function closesWithin(p: Promise<{ code: number }>, code: number, what: string) {
  const c = await Promise.race([
    p,
    new Promise<never>((_, rej) =>
      setTimeout(() => rej(new Error(`${what}: no close within ${BOUND_MS} ms`)), BOUND_MS),
    ),
  ]);
  assert.equal(c.code, code, what);
}

const dbName = (url: string) => new URL(url).pathname.slice(1);

before(async () => {
  [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  nextDb = migratedDatabases(pg, "cli");
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await redis?.stop();
  await pg?.stop();
  folder.cleanup();
});

describe("the CLI on PostgreSQL reaches running servers", () => {
  it("`users disable` closes the account's socket on a running server (LISTEN/NOTIFY) and says which database it used", async () => {
    const dbUrl = await nextDb();
    const s = await startNode(dbUrl);
    const { who: dan, sock } = await followerOn(s, "cli", "dan");
    const r = await cli(dbUrl, ["users", "disable", "dan"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /disabled dan/);
    assert.match(
      r.stderr,
      new RegExp(`using PostgreSQL at 127\\.0\\.0\\.1:${pg.port}/${dbName(dbUrl)} \\(DATABOOK_DATABASE_URL\\)`),
    );
    assert.ok(!`${r.stdout}${r.stderr}`.includes(pg.password), "the password is never printed");
    assert.ok(!existsSync(join(folder.dir, "unused", "databook.db")), "the data folder was not used");
    await closesWithin(sock.closed, CLOSE_CODES.SESSION_ENDED, "the disabled account's socket");
    assert.equal((await dan.api("/api/notebooks", "GET")).status, 401);
    assert.equal((await s.app.services.accounts.byUsername("dan"))?.disabled, true);
  });

  it("`tokens revoke` closes the token's sockets on both nodes of a cluster", async () => {
    const dbUrl = await nextDb();
    const A = await startNode(dbUrl, true);
    const B = await startNode(dbUrl, true);
    const owner = await A.people.user("ana");
    const nb = (await owner.api("/api/notebooks", "POST", { title: "robots", visibility: "signed-in" })).body as {
      id: string;
    };
    const { token, secret } = await A.app.services.tokens.create({
      ownerId: owner.id!,
      name: "robot",
      scopes: ["read"],
    });
    const bearer = { authorization: `Bearer ${secret}` };
    const [onA, onB] = [await follow(A, nb.id, bearer), await follow(B, nb.id, bearer)];
    const r = await cli(dbUrl, ["tokens", "revoke", token.id]);
    assert.equal(r.code, 0, r.stderr);
    await closesWithin(onA.closed, CLOSE_CODES.SESSION_ENDED, "the token's socket on A");
    await closesWithin(onB.closed, CLOSE_CODES.SESSION_ENDED, "the token's socket on B");
    for (const n of [A, B]) {
      const again = await fetch(`${n.url}/api/notebooks`, { headers: bearer });
      assert.equal(again.status, 401);
    }
  });

  it("a server whose LISTEN connection was cut re-checks every connection once it listens again", async () => {
    const dbUrl = await nextDb();
    const s = await startNode(dbUrl);
    const { sock } = await followerOn(s, "missed", "eve");
    // a change nobody announces (as if its NOTIFY was sent while the server was not listening)
    await pg.psql(`UPDATE users SET disabled_at_ms = 1 WHERE username = 'eve'`, dbName(dbUrl));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(sock.ws.readyState, sock.ws.OPEN, "nothing told the server yet");
    const cut = await pg.psql(
      `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'databook-listen' AND datname = '${dbName(dbUrl)}'`,
    );
    assert.match(cut, /^1/m, `one listening connection was cut: ${cut}`);
    await closesWithin(sock.closed, CLOSE_CODES.SESSION_ENDED, "the disabled account's socket after the reconnect");
  });

  it("`users add` works before the first start: the empty database is migrated, and `users list` reads it", async () => {
    const dbUrl = await pg.createDatabase("cli_fresh");
    const added = await cli(dbUrl, ["users", "add", "root", "--admin", "--password-stdin"], "a long enough password");
    assert.equal(added.code, 0, added.stderr);
    const list = await cli(dbUrl, ["users", "list", "--json"]);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(
      (JSON.parse(list.stdout) as { username: string; role: string }[]).map((a) => [a.username, a.role]),
      [["root", "admin"]],
    );
  });
});

describe("log verify and export on PostgreSQL", () => {
  let dbUrl: string;
  let s: PgNode;
  let nbId: string;
  before(async () => {
    dbUrl = await nextDb();
    s = await startNode(dbUrl);
    const owner = await s.people.user("ivy");
    nbId = ((await owner.api("/api/notebooks", "POST", { title: "Checkout outage" })).body as { id: string }).id;
    for (const text of ["5xx up", "rolled back"]) {
      const r = await owner.api(`/api/notebooks/${nbId}/timeline/notes`, "POST", {
        eventAtMs: Date.now() - 60_000,
        label: "detected",
        text,
      });
      assert.equal(r.status, 201);
    }
    await waitFor(() => s.app.services.checkpoints.backlog().entries === 0, "every entry signed");
  });

  it("`log verify` checks the chain, the tree and the checkpoints in PostgreSQL", async () => {
    const entries = (await s.app.log.entries(nbId)).length;
    const all = await cli(dbUrl, ["log", "verify"]);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /^ok: \d+ entries in \d+ notebook\(s\), chain intact, Merkle tree matches/);
    assert.match(all.stderr, /using PostgreSQL at 127\.0\.0\.1/);
    const one = await cli(dbUrl, ["log", "verify", "--notebook", nbId]);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, new RegExp(`^ok: ${entries} entries in notebook ${nbId}`));
    const audit = await cli(dbUrl, ["audit", "verify"]);
    assert.equal(audit.code, 0, audit.stderr);
    assert.match(audit.stdout, /^ok: \d+ audit entries, chain intact/);
  });

  it("`export` writes the postmortem and its proof from PostgreSQL", async () => {
    const out = join(folder.dir, "postmortem.md");
    const r = await cli(dbUrl, ["export", nbId, "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    const md = readFileSync(out, "utf8");
    assert.match(md, /Checkout outage/);
    assert.match(md, /rolled back/);
    const proof = JSON.parse(readFileSync(`${out}.proof.json`, "utf8")) as object;
    assert.ok(proof);
    const pub = (await cli(dbUrl, ["log", "key"])).stdout.match(/^public key: (\S+)/m)?.[1];
    assert.ok(pub);
    const checked = await databook(["log", "verify", "--export", out, "--key", pub!]);
    assert.equal(checked.code, 0, checked.stderr);
  });

  it("`log verify` names an entry changed in PostgreSQL behind Databook's back", async () => {
    const name = dbName(dbUrl);
    // the superuser, with triggers off: what an attacker with the database's files could do
    await pg.psql(
      `SET session_replication_role = replica; UPDATE log_entries SET data = '{"text":"nothing happened"}' WHERE notebook_id = '${nbId}' AND seq = 2`,
      name,
    );
    const r = await cli(dbUrl, ["log", "verify", "--notebook", nbId]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(
      r.stderr,
      new RegExp(`log verify failed: notebook ${nbId}, entry seq 2: its content does not match its hash`),
    );
  });

  it("a database without Databook's tables is named, with what to do", async () => {
    const empty = await pg.createDatabase("cli_empty");
    const r = await cli(empty, ["log", "verify"]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /PostgreSQL at 127\.0\.0\.1:\d+\/cli_empty \(DATABOOK_DATABASE_URL\) holds no Databook tables/,
    );
    assert.ok(!r.stderr.includes(pg.password));
  });
});
