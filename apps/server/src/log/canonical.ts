import { createHash } from "node:crypto";
import type { Principal } from "@databook/wire";

/** The prev_hash of a notebook's first log entry: 64 zeros. */
export const GENESIS_HASH = "0".repeat(64);

/**
 * Canonical JSON (docs/incident-log.md): object keys sorted by UTF-16 code unit order, no
 * whitespace, strings and numbers as `JSON.stringify` writes them, `undefined` members left out,
 * `null` kept. Throws `{ kind: "internal" }` for values JSON cannot carry (NaN, ±Infinity, bigint,
 * functions), because two writers could otherwise disagree on the bytes.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw { kind: "internal", message: `canonical JSON cannot carry ${value}` };
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
    }
    default:
      throw { kind: "internal", message: `canonical JSON cannot carry a ${typeof value}` };
  }
}

/** Lowercase hex SHA-256 of a UTF-8 string or raw bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * The fields of a log entry that its hash covers (all of them but the hash itself). `v` is the
 * canonical form's version: 1 — `actor` is the display name the client typed (unverified);
 * 2 — `actor` is the principal the server established (kind, stable id, display name then).
 */
export type HashedEntry = {
  v: 1 | 2;
  notebookId: string;
  seq: number;
  type: string;
  atMs: number;
  actor: string | Principal;
  cellId: string | null;
  runId: string | null;
  data: Record<string, unknown>;
  prevHash: string;
};

/**
 * The canonical form of an entry (docs/incident-log.md): the exact text its hash — and its leaf
 * in the notebook's Merkle tree — is computed over. v1 entries carry `actor` as a string, v2
 * entries as `{ id, kind, name }`.
 */
export function canonicalEntry(e: HashedEntry): string {
  const actor =
    e.v === 1
      ? e.actor
      : { id: (e.actor as Principal).id, kind: (e.actor as Principal).kind, name: (e.actor as Principal).name };
  return canonicalJson({
    v: e.v,
    notebookId: e.notebookId,
    seq: e.seq,
    type: e.type,
    atMs: e.atMs,
    actor,
    cellId: e.cellId,
    runId: e.runId,
    data: e.data,
    prevHash: e.prevHash,
  });
}

/** SHA-256 (hex) of an entry's canonical form ({@link canonicalEntry}). */
export function entryHash(e: HashedEntry): string {
  return sha256Hex(canonicalEntry(e));
}
