import {
  equalBytes,
  frontierRoot,
  isDatabookError,
  type OpenedCheckpoint,
  openCheckpoint,
  type SubtreeCache,
  treeRoot,
  type VerifierKey,
} from "@databook/tlog";
import type { Sql } from "../db/sql.ts";
import { notebookOfOrigin } from "./checkpoints.ts";
import { rowToEntry } from "./store.ts";
import { leavesOf, readFrontier } from "./tree.ts";

/** The result of {@link verifyTrees}. */
export type TreeVerifyResult =
  | {
      ok: true;
      notebooks: number;
      entries: number;
      /** Stored checkpoints signed by a trusted key, all matching the log. */
      checkpoints: number;
      /** Stored checkpoints signed by no trusted key (retired keys not passed, witnesses): not checked. */
      untrusted: number;
      /** Of the reader's own checkpoints (`olderCheckpoints`), how many named a checked notebook. */
      kept: number;
    }
  | { ok: false; notebookId: string; seq: number | null; reason: string };

/** Options of {@link verifyTrees}. */
export type TreeVerifyOptions = {
  /** Only this notebook (default: every notebook with entries or checkpoints). */
  notebookId?: string;
  /** The keys whose checkpoints count ("configured keys"): verifier keys, parsed. */
  keys: readonly VerifierKey[];
  /** Signed checkpoint notes the reader kept elsewhere (from the page, an export, a notification). */
  olderCheckpoints?: readonly string[];
  nowMs?: number;
};

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Checks each notebook's log against its Merkle tree and signed checkpoints (docs/incident-log.md,
 * "Verifying"): every checkpoint signed by one of `keys` — stored in `log_checkpoints`, or kept
 * by the reader (`olderCheckpoints`) — must name a tree size the log still has and the root of its
 * first entries (otherwise entries were removed, or changed and rehashed: the message names the
 * range of seqs, narrowed by the checkpoints that still match); every entry must be covered by
 * such a checkpoint (otherwise it was added without the key, or is younger than the server's
 * batching); and the stored tree (`log_trees`) must match the entries. A checkpoint carrying a
 * signature by a trusted key that does not verify fails. Run after the chain check (`verifyLog`);
 * stops at the first failure.
 */
export async function verifyTrees(sql: Sql, opts: TreeVerifyOptions): Promise<TreeVerifyResult> {
  const kept = (opts.olderCheckpoints ?? []).map((note, i) => {
    try {
      return openCheckpoint(note, opts.keys);
    } catch (e) {
      if (!isDatabookError(e)) throw e;
      return { error: `checkpoint file ${i + 1} does not open with the given keys: ${e.message}` };
    }
  });
  const badKept = kept.find((k): k is { error: string } => "error" in k);
  if (badKept) return { ok: false, notebookId: "", seq: null, reason: badKept.error };

  // sorted here, not by the engine: both engines then check (and report) in one order
  const ids = opts.notebookId
    ? [opts.notebookId]
    : (
        await sql.all<{ notebook_id: string }>(
          "SELECT notebook_id FROM log_entries UNION SELECT notebook_id FROM log_checkpoints UNION SELECT notebook_id FROM log_trees",
        )
      )
        .map((r) => r.notebook_id)
        .filter((id) => id !== "")
        .sort();
  let entries = 0;
  let checkpoints = 0;
  let untrusted = 0;
  let keptUsed = 0;

  for (const id of ids) {
    const rows = await sql.all<Parameters<typeof rowToEntry>[0]>(
      "SELECT * FROM log_entries WHERE notebook_id = ? ORDER BY seq",
      [id],
    );
    const leaves = leavesOf(rows.map(rowToEntry));
    const n = leaves.length;
    const cache: SubtreeCache = new Map();
    const fail = (seq: number | null, reason: string) => ({ ok: false as const, notebookId: id, seq, reason });

    // every trusted checkpoint of this notebook: the stored ones and the reader's own
    const signed: { cp: OpenedCheckpoint; what: string }[] = [];
    const stored = await sql.all<{ note: string; signed_at_ms: number }>(
      "SELECT note, signed_at_ms FROM log_checkpoints WHERE notebook_id = ? ORDER BY size",
      [id],
    );
    for (const r of stored) {
      let cp: OpenedCheckpoint;
      try {
        cp = openCheckpoint(r.note, opts.keys);
      } catch (e) {
        if (!isDatabookError(e)) throw e;
        if (/not signed by a trusted key/.test(e.message)) {
          untrusted++;
          continue;
        }
        return fail(null, `a stored checkpoint (signed ${iso(r.signed_at_ms)}) is not valid: ${e.message}`);
      }
      signed.push({ cp, what: `the checkpoint of size ${cp.size} signed ${iso(r.signed_at_ms)}` });
      checkpoints++;
    }
    for (const k of kept as OpenedCheckpoint[])
      if (notebookOfOrigin(k.origin) === id) {
        signed.push({ cp: k, what: `your checkpoint of size ${k.size}` });
        keptUsed++;
      }

    let covered = 0;
    let matched = 0; // the largest size whose root still matches
    let mismatch: { size: number; what: string } | undefined; // the smallest that does not
    for (const { cp, what } of signed) {
      if (notebookOfOrigin(cp.origin) !== id)
        return fail(null, `${what} is for log ${cp.origin}, not this notebook's: it was copied from another notebook`);
      if (cp.size > n)
        return fail(
          n + 1,
          `${what} covers ${cp.size} entries but the log has ${n}: entries seq ${n + 1}..${cp.size} were removed`,
        );
      if (equalBytes(treeRoot(cp.size, leaves, cache), cp.rootHash)) matched = Math.max(matched, cp.size);
      else if (!mismatch || cp.size < mismatch.size) mismatch = { size: cp.size, what };
      covered = Math.max(covered, cp.size);
    }
    if (mismatch) {
      const from = matched < mismatch.size ? matched + 1 : 1;
      const still = matched > 0 && matched < mismatch.size ? ` (the checkpoint of size ${matched} still matches)` : "";
      return fail(
        from,
        `the log's first ${mismatch.size} entries are not the ones ${mismatch.what} covers: an entry among seq ${from}..${mismatch.size} was changed, removed or replaced and the chain rehashed${still}`,
      );
    }
    if (covered < n)
      return fail(
        covered + 1,
        `entries seq ${covered + 1}..${n} are not covered by a checkpoint signed with a configured key: they were added without the key, or are newer than the server's last checkpoint (it signs within 5 s: run verify again)`,
      );
    const tree = await readFrontier(sql, id);
    if (tree.size !== n)
      return fail(
        null,
        `the stored Merkle tree (log_trees) holds ${tree.size} entries but the log has ${n}: the database was changed outside Databook`,
      );
    if (n > 0 && !equalBytes(frontierRoot(tree), treeRoot(n, leaves, cache)))
      return fail(
        null,
        "the stored Merkle tree (log_trees) does not match the entries: the database was changed outside Databook",
      );
    entries += n;
  }
  const strays = (kept as OpenedCheckpoint[]).filter((k) => !ids.includes(notebookOfOrigin(k.origin) ?? ""));
  if (opts.notebookId === undefined && strays.length)
    return {
      ok: false,
      notebookId: notebookOfOrigin(strays[0]!.origin) ?? "",
      seq: null,
      reason: `your checkpoint of size ${strays[0]!.size} names notebook log ${strays[0]!.origin}, which has no entries here: it was removed`,
    };
  return { ok: true, notebooks: ids.length, entries, checkpoints, untrusted, kept: keptUsed };
}
