import assert from "node:assert/strict";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  encodeVerifierKey,
  fromBase64,
  frontierOf,
  frontierRoot,
  frontierToBytes,
  generateSigningKey,
  signCheckpoint,
  verifierKeyOf,
  verifyConsistency,
} from "@databook/tlog";
import Database from "better-sqlite3";
import { authSettingsFromEnv } from "../src/auth/config.ts";
import { canonicalEntry, sha256Hex } from "../src/log/canonical.ts";
import { createSigningKeyFile } from "../src/log/signing-key.ts";
import { type LogEntry, rowToEntry } from "../src/log/store.ts";
import { leavesOf } from "../src/log/tree.ts";
import { SQLITE_ONLY } from "./app-storage.ts";
import { databook, startApp, tempDir, waitFor } from "./helpers.ts";
import { seedIncident } from "./incident-fixture.ts";

// The verifiable log against an insider who has the database file but not the signing key (kept
// outside the data folder): each way of changing the log is caught by `databook log verify`, by
// the signature or by a checkpoint kept from before, with a message saying what and where.

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

let dataDir: string;
let keyFile: string;
let publicKey: string;
let nb: string;
let entriesAtStop: number;
/** A file holding a checkpoint note fetched from the API before the tampering (as a reader keeps it). */
let keptFile: string;
/** One taken earlier, before further runs, and one after (for consistency proofs). */
let early: { note: string; size: number; rootHash: string };
let late: { note: string; size: number; rootHash: string; consistency: { fromSize: number; proof: string[] } };

before(async () => {
  if (SQLITE_ONLY) return; // every test here changes the SQLite file and verifies it with the CLI
  const data = tempDir();
  const keys = tempDir("databook-key-");
  cleanups.push(data.cleanup, keys.cleanup);
  dataDir = data.dir;
  keyFile = join(keys.dir, "signing-key");
  const key = createSigningKeyFile(keyFile, "databook.test");
  publicKey = encodeVerifierKey(verifierKeyOf(key));
  const app = await startApp(dataDir, {
    signingKey: key,
    checkpointDelayMs: 20,
    auth: authSettingsFromEnv({ DATABOOK_PUBLIC_URL: "http://databook.test" }),
  });
  const seeded = await seedIncident(app.services, { runs: 6, charts: 2 });
  nb = seeded.notebookId;
  const ana = await app.user("ana");
  await app.grant(nb, ana, "viewer");
  await waitFor(() => app.services.checkpoints.backlog().entries === 0, "the checkpoint writer");
  const first = await ana.api(`/api/notebooks/${nb}/checkpoint`, "GET");
  assert.equal(first.status, 200, JSON.stringify(first.body));
  early = first.body;
  await seedRuns(app.services, nb, 5);
  await waitFor(() => app.services.checkpoints.backlog().entries === 0, "the checkpoint writer");
  const second = await ana.api(`/api/notebooks/${nb}/checkpoint?from=${early.size}`, "GET");
  assert.equal(second.status, 200);
  late = { ...second.body, note: second.body.checkpoint };
  early.note = first.body.checkpoint;
  keptFile = join(keys.dir, "kept-checkpoint");
  writeFileSync(keptFile, late.note);
  entriesAtStop = (await app.services.log.entries(nb)).length;
  await app.stop();
});

/** More runs of the seeded notebook's first chart cell. */
async function seedRuns(s: Parameters<typeof seedIncident>[0], id: string, n: number) {
  const actor = { kind: "user" as const, id: "u-bo", name: "Bo" };
  for (let i = 0; i < n; i++) {
    const runId = `later-${i}`;
    await s.appendLog({
      notebookId: id,
      type: "run.started",
      atMs: 1,
      actor,
      cellId: "chart0",
      runId,
      data: { input: "x" },
    });
    await s.appendLog({
      notebookId: id,
      type: "run.finished",
      atMs: 2,
      actor,
      cellId: "chart0",
      runId,
      data: { outcome: "failed", durationMs: 1, warnings: [], error: { kind: "timeout", message: "slow" } },
    });
  }
}

/** A copy of the data folder (the key is not in it), changed by `tamper` with the triggers dropped. */
function tampered(tamper: (db: Database.Database) => void): string {
  const t = tempDir("databook-tampered-");
  cleanups.push(t.cleanup);
  cpSync(dataDir, t.dir, { recursive: true });
  const db = new Database(join(t.dir, "databook.db"));
  for (const trig of [
    "log_entries_no_update",
    "log_entries_no_delete",
    "blobs_no_update",
    "blobs_no_delete",
    "log_checkpoints_no_update",
    "log_checkpoints_no_delete",
  ])
    db.exec(`DROP TRIGGER ${trig}`);
  tamper(db);
  db.close();
  return t.dir;
}

const entriesOf = (db: Database.Database): LogEntry[] =>
  (db.prepare("SELECT * FROM log_entries WHERE notebook_id = ? ORDER BY seq").all(nb) as never[]).map(rowToEntry);

/** What an insider who knows the formats does after changing entries: a fresh chain and tree. */
function rehash(db: Database.Database, change: (e: LogEntry) => void = () => {}) {
  let prev = "0".repeat(64);
  const rows = entriesOf(db);
  const put = db.prepare("UPDATE log_entries SET data = ?, prev_hash = ?, hash = ? WHERE notebook_id = ? AND seq = ?");
  for (const e of rows) {
    change(e);
    e.prevHash = prev;
    e.hash = sha256Hex(canonicalEntry(e));
    put.run(JSON.stringify(e.data), e.prevHash, e.hash, nb, e.seq);
    prev = e.hash;
  }
  fixTree(db);
}

function fixTree(db: Database.Database) {
  const leaves = leavesOf(entriesOf(db));
  const f = frontierOf(leaves.length, leaves);
  db.prepare("UPDATE log_trees SET size = ?, frontier = ? WHERE notebook_id = ?").run(f.size, frontierToBytes(f), nb);
}

function verify(dir: string, ...extra: string[]) {
  return databook(["log", "verify", "--data", dir, "--key", publicKey, ...extra]);
}

async function caught(dir: string, pattern: RegExp, ...extra: string[]) {
  const r = await verify(dir, ...extra);
  assert.equal(r.code, 1, `verify should fail: ${r.stdout}${r.stderr}`);
  assert.match(r.stderr, pattern);
}

describe("the verifiable log", { skip: SQLITE_ONLY }, () => {
  it("an untouched copy verifies with the public key alone, and with the kept checkpoint", async () => {
    const r = await verify(dataDir, "--checkpoint", keptFile);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`ok: ${entriesAtStop} entries .*chain intact, Merkle tree matches`));
    assert.match(r.stdout, /your 1 checkpoint\(s\) still match/);
    const other = encodeVerifierKey(verifierKeyOf(generateSigningKey("databook.test")));
    const wrongKey = await databook(["log", "verify", "--data", dataDir, "--key", other]);
    assert.equal(wrongKey.code, 1, "another key's checkpoints do not count");
    assert.match(wrongKey.stderr, /entries seq 1\.\.\d+ are not covered by a checkpoint signed with a configured key/);
  });

  it("UPDATE of an entry: its hash no longer matches", async () => {
    const dir = tampered((db) =>
      db.prepare("UPDATE log_entries SET data = '{}' WHERE notebook_id = ? AND seq = 5").run(nb),
    );
    await caught(dir, new RegExp(`notebook ${nb}, entry seq 5: its content does not match its hash`));
  });

  it("a middle entry deleted: the seqs have a gap", async () => {
    const dir = tampered((db) => db.prepare("DELETE FROM log_entries WHERE notebook_id = ? AND seq = 4").run(nb));
    await caught(dir, /entry seq 5: expected seq 4 but found 5: entries 4\.\.4 were removed/);
  });

  it("the last entries deleted (tree fixed up): the stored checkpoints cover entries that are gone", async () => {
    const dir = tampered((db) => {
      db.prepare("DELETE FROM log_entries WHERE notebook_id = ? AND seq > ?").run(nb, entriesAtStop - 3);
      fixTree(db);
    });
    await caught(
      dir,
      new RegExp(
        `covers ${entriesAtStop} entries but the log has ${entriesAtStop - 3}: entries seq ${entriesAtStop - 2}\\.\\.${entriesAtStop} were removed`,
      ),
    );
  });

  it("the last entries and their checkpoints deleted: the checkpoint kept elsewhere catches it", async () => {
    const cut = early.size;
    const dir = tampered((db) => {
      db.prepare("DELETE FROM log_entries WHERE notebook_id = ? AND seq > ?").run(nb, cut);
      db.prepare("DELETE FROM log_checkpoints WHERE notebook_id = ? AND size > ?").run(nb, cut);
      fixTree(db);
    });
    const plain = await verify(dir);
    assert.equal(plain.code, 0, "without a checkpoint kept elsewhere a clean cut at a signed size passes");
    await caught(
      dir,
      /your checkpoint of size \d+ covers \d+ entries but the log has \d+: entries seq \d+\.\.\d+ were removed/,
      "--checkpoint",
      keptFile,
    );
    const c = await databook(["log", "consistency", "--data", dir, "--key", publicKey, "--from", keptFile]);
    assert.equal(c.code, 1);
    assert.match(c.stderr, /no stored checkpoint|larger than the newer one|were removed/);
  });

  it("the whole chain rewritten and rehashed: the signed roots no longer match, and the range is named", async () => {
    const dir = tampered((db) =>
      rehash(db, (e) => {
        if (e.seq === 3) e.data = { ...e.data, input: "nothing to see" };
      }),
    );
    await caught(
      dir,
      /the log's first \d+ entries are not the ones the checkpoint of size \d+ .*covers: an entry among seq 1\.\.\d+ was changed/,
    );
  });

  it("the whole chain rewritten with its checkpoints deleted: the kept checkpoint catches it", async () => {
    const dir = tampered((db) => {
      rehash(db, (e) => {
        if (e.seq === 2) e.data = { ...e.data, input: "rewritten" };
      });
      db.prepare("DELETE FROM log_checkpoints WHERE notebook_id = ?").run(nb);
    });
    await caught(dir, /not covered by a checkpoint signed with a configured key/);
    await caught(
      dir,
      /not the ones your checkpoint of size \d+ covers: an entry among seq 1\.\.\d+ was changed/,
      "--checkpoint",
      keptFile,
    );
  });

  it("a correctly hashed forged entry appended (and signed with the insider's own key): not covered by the configured key", async () => {
    const dir = tampered((db) => {
      const last = entriesOf(db).at(-1)!;
      const forged: LogEntry = {
        ...last,
        seq: last.seq + 1,
        type: "notebook.renamed",
        actor: { kind: "user", id: "u-eve", name: "Eve" },
        cellId: null,
        runId: null,
        data: { from: "x", to: "nothing happened" },
        prevHash: last.hash,
        hash: "",
      };
      forged.hash = sha256Hex(canonicalEntry(forged));
      db.prepare(
        "INSERT INTO log_entries (notebook_id, seq, v, type, at_ms, actor, actor_kind, actor_id, cell_id, run_id, data, prev_hash, hash) VALUES (?, ?, 2, ?, ?, 'Eve', 'user', 'u-eve', NULL, NULL, ?, ?, ?)",
      ).run(nb, forged.seq, forged.type, forged.atMs, JSON.stringify(forged.data), forged.prevHash, forged.hash);
      fixTree(db);
      const eve = generateSigningKey("databook.test");
      const leaves = leavesOf(entriesOf(db));
      const f = frontierOf(leaves.length, leaves);
      const note = signCheckpoint(
        { origin: `databook.test/n/${nb}`, size: f.size, rootHash: frontierRoot(f), extensions: [] },
        eve,
      );
      db.prepare(
        "INSERT INTO log_checkpoints (notebook_id, size, origin, key_id, root_hash, note, signed_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ).run(nb, f.size, `databook.test/n/${nb}`, eve.keyId, "x", note, Date.now());
    });
    await caught(
      dir,
      new RegExp(
        `entry seq ${entriesAtStop + 1}: entries seq ${entriesAtStop + 1}\\.\\.${entriesAtStop + 1} are not covered by a checkpoint signed with a configured key`,
      ),
    );
  });

  it("a stored output's body changed, its content type changed, two outputs swapped", async () => {
    const outputs = () => {
      const db = new Database(join(dataDir, "databook.db"), { readonly: true });
      const rows = db.prepare("SELECT hash, content_type FROM blobs ORDER BY hash").all() as {
        hash: string;
        content_type: string;
      }[];
      db.close();
      return rows;
    };
    const [a, b] = outputs();
    const body = tampered((db) => db.prepare("UPDATE blobs SET data = x'7b7d' WHERE hash = ?").run(a!.hash));
    await caught(body, new RegExp(`its stored output ${a!.hash} was changed \\(SHA-256 differs\\)`));
    const type = tampered((db) =>
      db.prepare("UPDATE blobs SET content_type = 'text/html' WHERE hash = ?").run(a!.hash),
    );
    await caught(
      type,
      new RegExp(
        `its stored output ${a!.hash} is stored as text/html but the entry records ${a!.content_type.replace(/[+.]/g, "\\$&")}`,
      ),
    );
    const swap = tampered((db) => {
      const get = db.prepare("SELECT data FROM blobs WHERE hash = ?").pluck();
      const da = get.get(a!.hash);
      const dbb = get.get(b!.hash);
      db.prepare("UPDATE blobs SET data = ? WHERE hash = ?").run(dbb, a!.hash);
      db.prepare("UPDATE blobs SET data = ? WHERE hash = ?").run(da, b!.hash);
    });
    await caught(swap, /entry seq \d+: its stored output [0-9a-f]{64} was changed \(SHA-256 differs\)/);
  });

  it("consistency proofs between checkpoints taken before and after further runs hold, from the API and the CLI", async () => {
    assert.ok(late.size > early.size);
    assert.equal(late.consistency.fromSize, early.size);
    verifyConsistency(
      early.size,
      late.size,
      fromBase64(early.rootHash, "old root"),
      fromBase64(late.rootHash, "new root"),
      late.consistency.proof.map((h) => fromBase64(h, "proof hash")),
    );
    const t = tempDir("databook-cp-");
    cleanups.push(t.cleanup);
    writeFileSync(join(t.dir, "early"), early.note);
    writeFileSync(join(t.dir, "late"), late.note);
    const r = await databook([
      "log",
      "consistency",
      "--data",
      dataDir,
      "--key",
      publicKey,
      "--from",
      join(t.dir, "early"),
      "--to",
      join(t.dir, "late"),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`at size ${late.size} .* extends your checkpoint of size ${early.size}`));
    assert.deepEqual(
      r.stdout
        .split("\n")
        .filter((l) => /^ {2}[A-Za-z0-9+/]{43}=$/.test(l))
        .map((l) => l.trim()),
      late.consistency.proof,
      "the CLI prints the same proof as the API",
    );
    const swapped = await databook([
      "log",
      "consistency",
      "--data",
      dataDir,
      "--key",
      publicKey,
      "--from",
      join(t.dir, "late"),
      "--to",
      join(t.dir, "early"),
    ]);
    assert.equal(swapped.code, 1);
    assert.match(swapped.stderr, /larger than the newer one/);
    const rewritten = tampered((db) =>
      rehash(db, (e) => {
        if (e.seq === 1) e.data = { ...e.data, title: "other" };
      }),
    );
    const bad = await databook([
      "log",
      "consistency",
      "--data",
      rewritten,
      "--key",
      publicKey,
      "--from",
      join(t.dir, "early"),
      "--to",
      join(t.dir, "late"),
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /do not prove that the log at size \d+ extends your checkpoint/);
  });

  it("log key prints the public key, where the secret is, and no retired key yet", async () => {
    const r = await databook(["log", "key", "--data", dataDir]);
    assert.equal(r.code, 1, "the key is outside the data folder: the default path has none");
    assert.match(r.stderr, /no signing key at .*signing-key yet/);
    const withEnv = await databook(["log", "key", "--data", dataDir], undefined, {
      DATABOOK_SIGNING_KEY_FILE: keyFile,
    });
    assert.equal(withEnv.code, 0, withEnv.stderr);
    assert.match(withEnv.stdout, new RegExp(`public key: ${publicKey.replace(/[+/]/g, "\\$&")}`));
    assert.match(withEnv.stdout, /retired keys: none/);
    assert.doesNotMatch(withEnv.stdout, /PRIVATE\+KEY/, "never prints the secret");
    assert.match(readFileSync(keyFile, "utf8"), /^PRIVATE\+KEY\+databook\.test\+/);
  });
});
