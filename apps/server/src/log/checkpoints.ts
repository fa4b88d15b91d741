import {
  encodeVerifierKey,
  type Frontier,
  frontierRoot,
  type SigningKey,
  signCheckpoint,
  toBase64,
  verifierKeyOf,
} from "@databook/tlog";
import type { Sql } from "../db/sql.ts";

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

const insertSql = `INSERT INTO log_checkpoints
    (notebook_id, size, origin, key_id, root_hash, note, signed_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT DO NOTHING`;
const latestByKeySql =
  "SELECT * FROM log_checkpoints WHERE notebook_id = ? AND key_id = ? ORDER BY size DESC, signed_at_ms DESC LIMIT 1";
const latestAnySql =
  "SELECT * FROM log_checkpoints WHERE notebook_id = ? ORDER BY size DESC, signed_at_ms DESC LIMIT 1";
// CAST: PostgreSQL cannot infer the type of a bare parameter in `? || '/n/'`
const uncoveredSql = `SELECT t.notebook_id AS id FROM log_trees t
    WHERE t.size > COALESCE((SELECT MAX(c.size) FROM log_checkpoints c
      WHERE c.notebook_id = t.notebook_id AND c.key_id = ? AND c.origin = CAST(? AS TEXT) || '/n/' || t.notebook_id), 0)
    ORDER BY t.notebook_id`;

/**
 * `log_checkpoints` and `signing_keys` on the async {@link Sql} interface (SQLite or PostgreSQL).
 * The writes and `latest` take an optional `tx` to run inside the caller's transaction (the
 * checkpoint writer reads the latest and adds the next one under one lock).
 */
export function createCheckpointStore(sql: Sql) {
  return {
    /** Stores a checkpoint (a second copy of the same one is ignored). */
    async add(c: StoredCheckpoint, tx: Sql = sql): Promise<void> {
      await tx.run(insertSql, [c.notebookId, c.size, c.origin, c.keyId, c.rootHash, c.note, c.signedAtMs]);
    },
    /** The notebook's largest checkpoint (signed by `keyId` when given), or undefined. */
    async latest(notebookId: string, keyId?: string, tx: Sql = sql): Promise<StoredCheckpoint | undefined> {
      const r =
        keyId === undefined
          ? await tx.get<Row>(latestAnySql, [notebookId])
          : await tx.get<Row>(latestByKeySql, [notebookId, keyId]);
      return r && toCheckpoint(r);
    },
    /** The notebook's checkpoints of tree size `size`, oldest first. */
    ofSize: async (notebookId: string, size: number): Promise<StoredCheckpoint[]> =>
      (
        await sql.all<Row>("SELECT * FROM log_checkpoints WHERE notebook_id = ? AND size = ? ORDER BY signed_at_ms", [
          notebookId,
          size,
        ])
      ).map(toCheckpoint),
    /** Every checkpoint of the notebook, smallest tree first. */
    all: async (notebookId: string): Promise<StoredCheckpoint[]> =>
      (
        await sql.all<Row>("SELECT * FROM log_checkpoints WHERE notebook_id = ? ORDER BY size, signed_at_ms", [
          notebookId,
        ])
      ).map(toCheckpoint),
    /** Notebooks whose tree has entries no checkpoint by `keyId` for origin host `host` covers. */
    uncovered: async (keyId: string, host: string): Promise<string[]> =>
      (await sql.all<{ id: string }>(uncoveredSql, [keyId, host])).map((r) => r.id),
    /** Remembers a key's public half (first use; later calls change nothing). */
    async recordKey(key: SigningKey, atMs: number, tx: Sql = sql): Promise<void> {
      await tx.run(
        "INSERT INTO signing_keys (key_id, verifier_key, first_used_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        [key.keyId, encodeVerifierKey(verifierKeyOf(key)), atMs],
      );
    },
    /** Every key that signed here, oldest first (public halves). */
    keys: async (): Promise<KnownKey[]> =>
      (
        await sql.all<{ key_id: string; verifier_key: string; first_used_ms: number }>(
          "SELECT key_id, verifier_key, first_used_ms FROM signing_keys ORDER BY first_used_ms, key_id",
        )
      ).map((r) => ({ keyId: r.key_id, verifierKey: r.verifier_key, firstUsedMs: r.first_used_ms })),
    /** The host part of the origin of the newest checkpoint (what the server last called itself), or undefined. */
    async lastHost(): Promise<string | undefined> {
      const o = (
        await sql.get<{ origin: string }>("SELECT origin FROM log_checkpoints ORDER BY signed_at_ms DESC LIMIT 1")
      )?.origin;
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
