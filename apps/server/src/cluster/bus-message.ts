/**
 * The shape of one bus entry in a Redis stream (XADD field/value pairs), and its checking on the
 * way in: anything a node reads from Redis is untrusted input (another process, an operator's
 * `redis-cli`, a compromised client) and is checked field by field before it reaches the server.
 */

/** Kinds carried on a notebook's stream. `resync`: "reload this notebook from the database". */
export const NOTEBOOK_KINDS = ["update", "awareness", "record", "resync"] as const;
/** Kinds carried on the global stream. `resync` there means "recheck everything". */
export const GLOBAL_KINDS = ["revoke", "resync"] as const;

export type NotebookKind = (typeof NOTEBOOK_KINDS)[number];

/**
 * Access that ended somewhere in the cluster: every node closes the matching sockets (by
 * re-deciding them from the database, as auth/live-connections.ts `recheck` does). Ids are the
 * database's: user ids, session id hashes, share-link ids, token ids, notebook ids.
 */
export type Revocation = {
  userIds?: string[];
  sessionIdHashes?: string[];
  shareLinkIds?: string[];
  tokenIds?: string[];
  /** Notebooks whose members, roles or visibility changed. */
  notebookIds?: string[];
};

const REVOCATION_KEYS = ["userIds", "sessionIdHashes", "shareLinkIds", "tokenIds", "notebookIds"] as const;
/** Ids one revocation may name (a disabled account's sessions and tokens fit many times over). */
export const MAX_REVOCATION_IDS = 10_000;
/** Longest node id accepted from the bus (ours are 22 characters). */
const MAX_NODE_ID = 64;
/** Longest id inside a revocation (ours are under 100). */
const MAX_ID = 200;

/** One decoded entry: who sent it, their sequence numbers (see bus.ts), what and its bytes. */
export type Entry = { node: string; seq: number; prev: number; kind: string; data: Buffer };

/** The XADD field/value list for one entry (fields `n`, `s`, `p`, `k`, `d`). */
export function entryFields(e: Entry): (string | Buffer)[] {
  return ["n", e.node, "s", String(e.seq), "p", String(e.prev), "k", e.kind, "d", e.data];
}

const SEQ = /^(0|[1-9][0-9]{0,15})$/;
const NODE = /^[A-Za-z0-9_-]+$/;

/**
 * Decodes an XREAD entry's field list; a string saying what is wrong when it is not exactly the
 * five fields of {@link entryFields} with a usable node id and sequence numbers, or its data is
 * over `maxBytes`.
 */
export function decodeEntry(fields: unknown, maxBytes: number): Entry | string {
  if (!Array.isArray(fields) || fields.length !== 10) return "not five field/value pairs";
  const m = new Map<string, Buffer>();
  for (let i = 0; i < 10; i += 2) {
    const k = fields[i];
    const v = fields[i + 1];
    if (!Buffer.isBuffer(k) || !Buffer.isBuffer(v)) return "fields are not byte strings";
    m.set(k.toString("latin1"), v);
  }
  const n = m.get("n");
  const s = m.get("s");
  const p = m.get("p");
  const k = m.get("k");
  const d = m.get("d");
  if (!n || !s || !p || !k || !d) return "missing one of the fields n, s, p, k, d";
  if (d.length > maxBytes) return `data of ${d.length} bytes is over the ${maxBytes}-byte limit`;
  const node = n.toString("latin1");
  if (node.length > MAX_NODE_ID || !NODE.test(node)) return "unusable node id";
  const seq = s.toString("latin1");
  const prev = p.toString("latin1");
  if (!SEQ.test(seq) || !SEQ.test(prev) || seq === "0") return "unusable sequence numbers";
  return { node, seq: Number(seq), prev: Number(prev), kind: k.toString("latin1"), data: d };
}

/**
 * Parses a revocation's JSON bytes: an object with only the keys of {@link Revocation}, each an
 * array of non-empty strings, at most {@link MAX_REVOCATION_IDS} ids in all. A string saying what
 * is wrong otherwise.
 */
export function parseRevocation(data: Buffer): Revocation | string {
  let v: unknown;
  try {
    v = JSON.parse(data.toString("utf8"));
  } catch {
    return "not JSON";
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) return "not an object";
  const out: Revocation = {};
  let count = 0;
  for (const [key, ids] of Object.entries(v)) {
    if (!(REVOCATION_KEYS as readonly string[]).includes(key)) return `unknown key ${JSON.stringify(key)}`;
    if (!Array.isArray(ids) || !ids.every((x) => typeof x === "string" && x.length > 0 && x.length <= MAX_ID))
      return `${key} is not a list of ids`;
    count += ids.length;
    out[key as (typeof REVOCATION_KEYS)[number]] = ids;
  }
  if (count === 0) return "names no id";
  if (count > MAX_REVOCATION_IDS) return `names ${count} ids, over ${MAX_REVOCATION_IDS}`;
  return out;
}
