// The verifiable log (docs/incident-log.md, "The Merkle tree", "Checkpoints"):
// - log_trees: each notebook's RFC 6962 Merkle tree over its entries' canonical forms, kept as a
//   frontier (the hashes of the complete subtrees, one per 1 bit of the size), backfilled here for
//   every existing log; the hash chain stays as it is;
// - log_checkpoints: signed tree heads (C2SP signed notes), append-only like the log;
// - signing_keys: the public half of every key that signed checkpoints (retired ones included);
// - blobs is keyed by (hash, content type): before, two equal bodies of different types shared
//   the first one's row, so a stored output's type could not be checked against its log entry.
//   Pairs the log already recorded with another type get a row of their own.
// Self-contained on purpose: a migration must not change when the server's code does, so the
// canonical form (v1, v2) and the RFC 6962 hashing are restated here.
import { createHash } from "node:crypto";
import type { Database } from "better-sqlite3";

export const rewrites = true;

function canonicalJson(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
}

type EntryRow = {
  notebook_id: string;
  seq: number;
  v: number;
  type: string;
  at_ms: number;
  actor: string;
  actor_kind: string | null;
  actor_id: string | null;
  cell_id: string | null;
  run_id: string | null;
  data: string;
  prev_hash: string;
};

/** The entry's canonical form v1 or v2, as docs/incident-log.md defined them when this was written. */
function canonicalForm(r: EntryRow): string {
  let data: unknown;
  try {
    data = JSON.parse(r.data);
  } catch {
    data = r.data; // a broken row still gets a leaf; `databook log verify` names it
  }
  return canonicalJson({
    v: r.v === 2 ? 2 : 1,
    notebookId: r.notebook_id,
    seq: r.seq,
    type: r.type,
    atMs: r.at_ms,
    actor: r.v === 2 ? { id: r.actor_id ?? "", kind: r.actor_kind, name: r.actor } : r.actor,
    cellId: r.cell_id,
    runId: r.run_id,
    data,
    prevHash: r.prev_hash,
  });
}

const sha256 = (...parts: (Uint8Array | string)[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};
const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

export function up(db: Database): void {
  db.exec(`
    CREATE TABLE log_trees (
      notebook_id TEXT PRIMARY KEY,
      size        BIGINT NOT NULL,            -- entries in the tree (= the notebook's last seq)
      frontier    BLOB NOT NULL               -- popcount(size) × 32 bytes, largest subtree first
    );

    CREATE TABLE log_checkpoints (
      notebook_id  TEXT NOT NULL,
      size         BIGINT NOT NULL,           -- tree size it covers
      origin       TEXT NOT NULL,             -- <public host>/n/<notebook id>
      key_id       TEXT NOT NULL,             -- 8 hex digits (c2sp.org/signed-note)
      root_hash    TEXT NOT NULL,             -- base64, as in the note
      note         TEXT NOT NULL,             -- the signed note, verbatim
      signed_at_ms BIGINT NOT NULL,
      PRIMARY KEY (notebook_id, size, key_id, origin)
    );
    CREATE INDEX log_checkpoints_latest ON log_checkpoints (notebook_id, key_id, size);
    CREATE TRIGGER log_checkpoints_no_update BEFORE UPDATE ON log_checkpoints
    BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only: UPDATE refused'); END;
    CREATE TRIGGER log_checkpoints_no_delete BEFORE DELETE ON log_checkpoints
    BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only: DELETE refused'); END;

    CREATE TABLE signing_keys (
      key_id        TEXT PRIMARY KEY,
      verifier_key  TEXT NOT NULL,            -- <name>+<key id>+<base64 public key>
      first_used_ms BIGINT NOT NULL
    );

    CREATE TABLE blobs_by_type (
      hash         TEXT NOT NULL,             -- SHA-256 (hex) of data
      content_type TEXT NOT NULL,             -- the type the log entry records
      bytes        BIGINT NOT NULL,
      data         BLOB NOT NULL,
      PRIMARY KEY (hash, content_type)
    );
    INSERT INTO blobs_by_type (hash, content_type, bytes, data) SELECT hash, content_type, bytes, data FROM blobs;
  `);

  const addPair = db.prepare(`INSERT INTO blobs_by_type (hash, content_type, bytes, data)
    SELECT hash, ?, bytes, data FROM blobs WHERE hash = ? ON CONFLICT DO NOTHING`);
  for (const r of db.prepare("SELECT data FROM log_entries WHERE type = 'run.finished'").all() as { data: string }[]) {
    let d: { outputHash?: unknown; contentType?: unknown };
    try {
      d = JSON.parse(r.data);
    } catch {
      continue;
    }
    if (typeof d.outputHash === "string" && typeof d.contentType === "string") addPair.run(d.contentType, d.outputHash);
  }
  // DROP TABLE fires no DELETE trigger and drops the table's own triggers
  db.exec(`
    DROP TABLE blobs;
    ALTER TABLE blobs_by_type RENAME TO blobs;
    CREATE TRIGGER blobs_no_update BEFORE UPDATE ON blobs
    BEGIN SELECT RAISE(ABORT, 'stored outputs are immutable: UPDATE refused'); END;
    CREATE TRIGGER blobs_no_delete BEFORE DELETE ON blobs
    BEGIN SELECT RAISE(ABORT, 'stored outputs are immutable: DELETE refused'); END;
  `);

  // RFC 6962 frontier per notebook: append each leaf, merging while the old size is odd
  const save = db.prepare("INSERT INTO log_trees (notebook_id, size, frontier) VALUES (?, ?, ?)");
  const entries = db.prepare("SELECT * FROM log_entries WHERE notebook_id = ? ORDER BY seq");
  const ids = db.prepare("SELECT DISTINCT notebook_id FROM log_entries ORDER BY notebook_id").pluck().all() as string[];
  for (const id of ids) {
    let size = 0;
    const frontier: Buffer[] = [];
    for (const r of entries.all(id) as EntryRow[]) {
      let node = sha256(LEAF, canonicalForm(r));
      for (let s = size; s % 2 === 1; s = Math.floor(s / 2)) node = sha256(NODE, frontier.pop() as Buffer, node);
      frontier.push(node);
      size++;
    }
    save.run(id, size, Buffer.concat(frontier));
  }
}
