import type { BundleEntry, BundleOutput, ProofBundle } from "./bundle-format.ts";
import { BUNDLE_FORMAT } from "./bundle-format.ts";
import { equalBytes, toBase64 } from "./bytes.ts";
import { openCheckpoint } from "./checkpoint.ts";
import { badInput } from "./errors.ts";
import { leafHash } from "./hash.ts";
import { encodeVerifierKey, type VerifierKey } from "./keys.ts";
import { consistencyProof, inclusionProof } from "./proof.ts";
import { type LeafSource, type SubtreeCache, treeRoot } from "./tree.ts";

/** What {@link buildBundle} needs; see its doc. */
export type BundleInput = {
  /** The notebook; the checkpoint's origin must end in `/n/<notebookId>`. */
  readonly notebookId: string;
  /** The signed checkpoint note the proofs are made against. */
  readonly checkpoint: string;
  /** The key(s) that signed it, as verifier key text or parsed; written into the bundle. */
  readonly verifierKeys: readonly (VerifierKey | string)[];
  /** The leaf hashes of the notebook's whole tree, at least the checkpoint's size of them. */
  readonly leaves: LeafSource;
  /** The entries to include (any subset), each with its canonical form. */
  readonly entries: readonly { readonly seq: number; readonly canonical: string }[];
  /** The outputs those entries reference, one per (sha256, contentType); `body` optional. */
  readonly outputs: readonly BundleOutput[];
  /** Earlier tree sizes to add consistency proofs from (e.g. the sizes of published checkpoints). */
  readonly consistencyFrom?: readonly number[];
  /** A subtree cache for this notebook's tree, reused across calls (see `SubtreeCache`). */
  readonly cache?: SubtreeCache;
};

/**
 * Builds a {@link ProofBundle}. Checks before it writes anything that a verifier would accept:
 * the checkpoint is signed by one of `verifierKeys`, the leaves give its root, and each entry's
 * canonical form hashes to its leaf. Entries are sorted by seq. Costs O(tree size) hashes on a
 * cold cache, then O(log n) per entry. Throws bad-input naming what does not fit.
 */
export function buildBundle(input: BundleInput): ProofBundle {
  const cp = openCheckpoint(input.checkpoint, input.verifierKeys);
  if (!cp.origin.endsWith(`/n/${input.notebookId}`)) {
    badInput(`the checkpoint's origin ${cp.origin} does not end in /n/${input.notebookId}`);
  }
  const cache = input.cache ?? new Map();
  if (!equalBytes(treeRoot(cp.size, input.leaves, cache), cp.rootHash)) {
    badInput(
      `the leaves do not give the checkpoint's root at size ${cp.size}: the stored tree and the checkpoint differ`,
    );
  }
  const leafAt = (i: number) => (typeof input.leaves === "function" ? input.leaves(i) : input.leaves[i]);
  const entries = [...input.entries]
    .sort((a, b) => a.seq - b.seq)
    .map((e, i, sorted): BundleEntry => {
      if (!Number.isSafeInteger(e.seq) || e.seq < 1)
        badInput(`an entry's seq must be a whole number ≥ 1, got ${e.seq}`);
      if (i > 0 && sorted[i - 1]?.seq === e.seq) badInput(`entry seq ${e.seq} is given twice`);
      const leafIndex = e.seq - 1;
      if (leafIndex >= cp.size) badInput(`entry seq ${e.seq} is newer than the checkpoint (size ${cp.size})`);
      const stored = leafAt(leafIndex);
      if (!stored || !equalBytes(leafHash(e.canonical), stored)) {
        badInput(`entry seq ${e.seq}: its canonical form does not hash to leaf ${leafIndex} of the tree`);
      }
      const proof = inclusionProof(leafIndex, cp.size, input.leaves, cache);
      return { seq: e.seq, leafIndex, canonical: e.canonical, inclusionProof: proof.map(toBase64) };
    });
  const consistency = (input.consistencyFrom ?? []).map((fromSize) => ({
    fromSize,
    proof: consistencyProof(fromSize, cp.size, input.leaves, cache).map(toBase64),
  }));
  return {
    format: BUNDLE_FORMAT,
    notebookId: input.notebookId,
    origin: cp.origin,
    verifierKeys: input.verifierKeys.map((k) => (typeof k === "string" ? k : encodeVerifierKey(k))),
    checkpoint: input.checkpoint,
    entries,
    outputs: input.outputs.map((o) => ({ ...o })),
    ...(consistency.length > 0 ? { consistency } : {}),
  };
}
