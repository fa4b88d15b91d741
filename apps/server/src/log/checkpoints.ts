import {
  encodeVerifierKey,
  type Frontier,
  frontierRoot,
  type SigningKey,
  signCheckpoint,
  toBase64,
  verifierKeyOf,
} from "@databook/tlog";
import type { Database } from "better-sqlite3";

/**
 * Signed checkpoints of the notebooks' Merkle trees (docs/incident-log.md, "Checkpoints"): C2SP
 * tlog-checkpoint notes signed with the server's key, kept append-only in `log_checkpoints`.
 */

/** A checkpoint as stored. `rootHash` is base64 (as in the note); `note` the signed note verbatim. */
export type StoredCheckpoint = {
  notebookId: string;
  size: number;
  origin: string;
  keyId: string;
  rootHash: string;
  note: string;
  signedAtMs: number;
};

/** A key that signed checkpoints, as `signing_keys` remembers it (its public half only). */
export type KnownKey = { keyId: string; verifierKey: string; firstUsedMs: number };

/** A notebook log's origin line: `<public host>/n/<notebook id>` (no scheme). */
export function originOf(host: string, notebookId: string): string {
  return `${host}/n/${notebookId}`;
}

/** The notebook id an origin names (the part after the last `/n/`), or undefined. */
export function notebookOfOrigin(origin: string): string | undefined {
  const i = origin.lastIndexOf("/n/");
  return i < 0 ? undefined : origin.slice(i + 3) || undefined;
}

type Row = {
  notebook_id: string;
  size: number;
  origin: string;
  key_id: string;
  root_hash: string;
  note: string;
  signed_at_ms: number;
};
const toCheckpoint = (r: Row): StoredCheckpoint => ({
  notebookId: r.notebook_id,
  size: r.size,
  origin: r.origin,
  keyId: r.key_id,
  rootHash: r.root_hash,
  note: r.note,
  signedAtMs: r.signed_at_ms,
});

/** SQL access to `log_checkpoints` and `signing_keys`. */
export function createCheckpointStore(db: Database) {
  const insert = db.prepare(`INSERT INTO log_checkpoints
    (notebook_id, size, origin, key_id, root_hash, note, signed_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT DO NOTHING`);
  const latestByKey = db.prepare(
    "SELECT * FROM log_checkpoints WHERE notebook_id = ? AND key_id = ? ORDER BY size DESC, signed_at_ms DESC LIMIT 1",
  );
  const latestAny = db.prepare(
    "SELECT * FROM log_checkpoints WHERE notebook_id = ? ORDER BY size DESC, signed_at_ms DESC LIMIT 1",
  );
  const bySize = db.prepare("SELECT * FROM log_checkpoints WHERE notebook_id = ? AND size = ? ORDER BY signed_at_ms");
  const all = db.prepare("SELECT * FROM log_checkpoints WHERE notebook_id = ? ORDER BY size, signed_at_ms");
  const uncovered = db.prepare(`SELECT t.notebook_id AS id FROM log_trees t
    WHERE t.size > COALESCE((SELECT MAX(c.size) FROM log_checkpoints c
      WHERE c.notebook_id = t.notebook_id AND c.key_id = ? AND c.origin = ? || '/n/' || t.notebook_id), 0)`);
  const addKey = db.prepare(
    "INSERT INTO signing_keys (key_id, verifier_key, first_used_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
  );
  const keys = db.prepare("SELECT key_id, verifier_key, first_used_ms FROM signing_keys ORDER BY first_used_ms");
  const lastOrigin = db.prepare("SELECT origin FROM log_checkpoints ORDER BY signed_at_ms DESC LIMIT 1");
  return {
    /** Stores a checkpoint (a second copy of the same one is ignored). */
    add(c: StoredCheckpoint): void {
      insert.run(c.notebookId, c.size, c.origin, c.keyId, c.rootHash, c.note, c.signedAtMs);
    },
    /** The notebook's largest checkpoint (signed by `keyId` when given), or undefined. */
    latest(notebookId: string, keyId?: string): StoredCheckpoint | undefined {
      const r = (keyId === undefined ? latestAny.get(notebookId) : latestByKey.get(notebookId, keyId)) as
        | Row
        | undefined;
      return r && toCheckpoint(r);
    },
    /** The notebook's checkpoints of tree size `size`, oldest first. */
    ofSize: (notebookId: string, size: number): StoredCheckpoint[] =>
      (bySize.all(notebookId, size) as Row[]).map(toCheckpoint),
    /** Every checkpoint of the notebook, smallest tree first. */
    all: (notebookId: string): StoredCheckpoint[] => (all.all(notebookId) as Row[]).map(toCheckpoint),
    /** Notebooks whose tree has entries no checkpoint by `keyId` for origin host `host` covers. */
    uncovered: (keyId: string, host: string): string[] =>
      (uncovered.all(keyId, host) as { id: string }[]).map((r) => r.id),
    /** Remembers a key's public half (first use). */
    recordKey(key: SigningKey, atMs: number): void {
      addKey.run(key.keyId, encodeVerifierKey(verifierKeyOf(key)), atMs);
    },
    /** Every key that signed here, oldest first (public halves). */
    keys: (): KnownKey[] =>
      (keys.all() as { key_id: string; verifier_key: string; first_used_ms: number }[]).map((r) => ({
        keyId: r.key_id,
        verifierKey: r.verifier_key,
        firstUsedMs: r.first_used_ms,
      })),
    /** The host part of the origin of the newest checkpoint (what the server last called itself), or undefined. */
    lastHost(): string | undefined {
      const o = (lastOrigin.get() as { origin: string } | undefined)?.origin;
      return o === undefined ? undefined : o.slice(0, o.lastIndexOf("/n/"));
    },
  };
}

export type CheckpointStore = ReturnType<typeof createCheckpointStore>;

/** Signs notebook `notebookId`'s tree `tree` for origin host `host` (not stored: see the store's `add`). */
export function signTree(
  tree: Frontier,
  notebookId: string,
  key: SigningKey,
  host: string,
  atMs: number,
): StoredCheckpoint {
  const rootHash = frontierRoot(tree);
  const origin = originOf(host, notebookId);
  return {
    notebookId,
    size: tree.size,
    origin,
    keyId: key.keyId,
    rootHash: toBase64(rootHash),
    note: signCheckpoint({ origin, size: tree.size, rootHash, extensions: [] }, key),
    signedAtMs: atMs,
  };
}
