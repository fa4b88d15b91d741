import type { Sql } from "../db/sql.ts";
import { entryHash, GENESIS_HASH, sha256Hex } from "./canonical.ts";
import { type ChainTable, rowToEntry } from "./store.ts";

/** The result of checking one or every notebook's chain. */
export type VerifyResult =
  | { ok: true; entries: number; notebooks: number; head?: { notebookId: string; seq: number; later: number } }
  | { ok: false; notebookId: string; seq: number | null; reason: string; entries: number };

/**
 * Walks each notebook's log in seq order and checks: seqs run 1, 2, 3 … without a gap, each
 * prev_hash equals the previous entry's hash (64 zeros first), each stored hash equals the hash
 * of the entry's canonical form, and each output it references (`data.outputHash`) is stored with
 * that SHA-256 and the content type the entry records. With `head` (a hash kept elsewhere, shown by the timeline and the export) the
 * chain must contain that hash: otherwise its tail was cut off or the whole chain was rewritten.
 * `head` needs `notebookId`. Stops at the first bad entry. Reads one notebook's entries (and the
 * outputs they reference) at a time, on either engine.
 */
export async function verifyLog(
  sql: Sql,
  opts: { notebookId?: string; head?: string; table?: ChainTable } = {},
): Promise<VerifyResult> {
  const table = opts.table ?? "log_entries";
  if (opts.head && !opts.notebookId) {
    return {
      ok: false,
      notebookId: "",
      seq: null,
      reason: "--head needs --notebook ID (a head hash belongs to one notebook)",
      entries: 0,
    };
  }
  // sorted here, not by the engine: both engines then check (and report) in one order
  const ids = opts.notebookId
    ? [opts.notebookId]
    : (await sql.all<{ id: string }>(`SELECT DISTINCT notebook_id AS id FROM ${table}`)).map((r) => r.id).sort();
  let count = 0;
  let headAt: { notebookId: string; seq: number; later: number } | undefined;
  for (const id of ids) {
    const rows = await sql.all<ChainRow>(`SELECT * FROM ${table} WHERE notebook_id = ? ORDER BY seq`, [id]);
    const blobs = await referencedBlobs(sql, rows);
    const r = checkChain(id, rows, (ref) => blobs.get(ref) ?? [], opts.head);
    count += r.entries;
    if (!r.ok) return { ...r, entries: count };
    if (r.head) headAt = r.head;
  }
  if (opts.head && !headAt) {
    return {
      ok: false,
      notebookId: opts.notebookId!,
      seq: null,
      entries: count,
      reason: `head ${opts.head} is not in the chain: its tail was cut off or the chain was rewritten`,
    };
  }
  return headAt
    ? { ok: true, entries: count, notebooks: ids.length, head: headAt }
    : { ok: true, entries: count, notebooks: ids.length };
}

/** Most hashes asked for in one `IN (…)` (well under both engines' limits on bound values). */
const BLOBS_PER_QUERY = 500;

/**
 * The `blobs` rows under every output hash `rows` reference (`data.outputHash`), by hash. A row
 * whose data column is not JSON references nothing here: {@link checkChain} names it.
 */
async function referencedBlobs(sql: Sql, rows: readonly ChainRow[]): Promise<Map<string, BlobRow[]>> {
  const hashes = new Set<string>();
  for (const r of rows) {
    try {
      const ref = (JSON.parse(String(r.data)) as { outputHash?: unknown } | null)?.outputHash;
      if (typeof ref === "string") hashes.add(ref);
    } catch {
      // checkChain reports the broken entry
    }
  }
  const list = [...hashes];
  const out = new Map<string, BlobRow[]>();
  for (let i = 0; i < list.length; i += BLOBS_PER_QUERY) {
    const part = list.slice(i, i + BLOBS_PER_QUERY);
    const found = await sql.all<BlobRow & { hash: string }>(
      `SELECT hash, content_type, data FROM blobs WHERE hash IN (${part.map(() => "?").join(", ")})`,
      part,
    );
    for (const b of found) out.set(b.hash, [...(out.get(b.hash) ?? []), b]);
  }
  return out;
}

type ChainRow = Parameters<typeof rowToEntry>[0];
type BlobRow = { content_type: string; data: Buffer };

/**
 * Checks one chain's rows (in seq order, as `SELECT * FROM log_entries|audit_entries`), the checks
 * {@link verifyLog} makes; `blobsOf(hash)` gives the `blobs` rows under an output hash. Returns the
 * number of good entries before the first bad one (all of them when `ok`), and where `head` is in
 * the chain when it is. Works on rows from either engine, so a PostgreSQL chain is checked the same way.
 */
export function checkChain(
  notebookId: string,
  rows: Iterable<ChainRow>,
  blobsOf: (hash: string) => BlobRow[],
  head?: string,
):
  | { ok: true; entries: number; head?: { notebookId: string; seq: number; later: number } }
  | { ok: false; notebookId: string; seq: number; reason: string; entries: number } {
  const id = notebookId;
  let prevHash = GENESIS_HASH;
  let expectSeq = 1;
  let n = 0;
  let headAt: { notebookId: string; seq: number; later: number } | undefined;
  const bad = (seq: number, reason: string) => ({ ok: false as const, notebookId: id, seq, reason, entries: n });
  for (const raw of rows) {
    let e: ReturnType<typeof rowToEntry>;
    try {
      e = rowToEntry(raw);
    } catch {
      return bad(raw.seq, "its data column is not valid JSON");
    }
    if (e.seq !== expectSeq) {
      const reason =
        e.seq > expectSeq
          ? `expected seq ${expectSeq} but found ${e.seq}: entries ${expectSeq}..${e.seq - 1} were removed`
          : `seq ${e.seq} appears out of order (expected ${expectSeq})`;
      return bad(e.seq, reason);
    }
    if (e.prevHash !== prevHash)
      return bad(
        e.seq,
        "its prev_hash does not match the previous entry's hash (an entry before it was changed, inserted or removed)",
      );
    if (entryHash(e) !== e.hash) return bad(e.seq, "its content does not match its hash (the entry was changed)");
    const ref = e.data.outputHash;
    if (typeof ref === "string") {
      const reason = outputProblem(ref, e.data.contentType, blobsOf(ref));
      if (reason) return bad(e.seq, reason);
    }
    if (head && e.hash === head) headAt = { notebookId: id, seq: e.seq, later: 0 };
    prevHash = e.hash;
    expectSeq++;
    n++;
  }
  if (headAt) headAt.later = n - headAt.seq;
  return headAt ? { ok: true, entries: n, head: headAt } : { ok: true, entries: n };
}

/**
 * What is wrong with the stored output an entry references (`outputHash`, recorded with
 * `contentType`), given the `blobs` rows under that hash; undefined when one has that type and
 * hashes to it.
 */
function outputProblem(ref: string, contentType: unknown, rows: BlobRow[]): string | undefined {
  if (rows.length === 0) return `its stored output ${ref} is missing`;
  // an entry without a content type (none written so far) can only be checked against its body
  const row = typeof contentType === "string" ? rows.find((r) => r.content_type === contentType) : rows[0];
  if (!row)
    return `its stored output ${ref} is stored as ${rows.map((r) => r.content_type).join(", ")} but the entry records ${contentType} (the stored content type was changed)`;
  if (sha256Hex(row.data) !== ref) return `its stored output ${ref} was changed (SHA-256 differs)`;
  return undefined;
}
