import { popCount } from "./bytes.ts";
import { badInput } from "./errors.ts";
import { EMPTY_ROOT, HASH_BYTES, nodeHash } from "./hash.ts";
import { checkCount, checkSource, type LeafSource, type SubtreeCache, subtreeHash } from "./tree.ts";

/**
 * The compact state of a growing tree (a "compact range" over [0, size)): the hashes of the
 * complete subtrees that the tree of `size` leaves splits into, one per 1 bit of `size`, largest
 * (leftmost) first. E.g. size 6 = 4 + 2 → [hash of leaves 0..3, hash of leaves 4..5]. That is
 * enough to append and to compute the root, each in O(log n) hashes, and it is small to store
 * (see {@link frontierToBytes}).
 */
export type Frontier = { readonly size: number; readonly hashes: readonly Uint8Array[] };

function checkFrontier(f: Frontier): void {
  checkCount(f.size, "frontier size");
  if (f.hashes.length !== popCount(f.size)) {
    badInput(`a frontier of ${f.size} leaves has ${popCount(f.size)} hashes, this one has ${f.hashes.length}`);
  }
}

/** The frontier of the empty tree. */
export const EMPTY_FRONTIER: Frontier = { size: 0, hashes: [] };

/**
 * Appends one leaf (its 32-byte {@link leafHash}) and returns the new frontier; the argument is
 * left as it was. O(log n) hashes. Throws bad-input for a hash of the wrong length.
 */
export function appendLeaf(frontier: Frontier, leaf: Uint8Array): Frontier {
  if (!(leaf instanceof Uint8Array) || leaf.length !== HASH_BYTES) badInput(`a leaf hash is ${HASH_BYTES} bytes`);
  checkFrontier(frontier);
  const hashes = frontier.hashes.slice();
  let node = leaf;
  // each trailing 1 bit of the old size is a complete subtree of the new leaf's size: merge them
  for (let s = frontier.size; s % 2 === 1; s = Math.floor(s / 2)) node = nodeHash(hashes.pop() as Uint8Array, node);
  hashes.push(node);
  return { size: frontier.size + 1, hashes };
}

/** The tree's root (RFC 9162 §2.1.1) from its frontier: O(log n) hashes; the empty root for size 0. */
export function frontierRoot(frontier: Frontier): Uint8Array {
  checkFrontier(frontier);
  const h = frontier.hashes;
  return h.length === 0 ? EMPTY_ROOT : h.reduceRight((right, left) => nodeHash(left, right));
}

/**
 * The frontier of the first `size` leaves, from the leaves themselves (to backfill an existing
 * log, or to rebuild a lost frontier). O(size) hashes, fewer with a warm `cache`.
 */
export function frontierOf(size: number, leaves: LeafSource, cache?: SubtreeCache): Frontier {
  checkCount(size, "tree size");
  checkSource(leaves, size);
  const hashes: Uint8Array[] = [];
  let start = 0;
  while (start < size) {
    let k = 1;
    while (k * 2 <= size - start) k *= 2;
    hashes.push(subtreeHash(start, k, leaves, cache));
    start += k;
  }
  return { size, hashes };
}

/**
 * The frontier's hashes concatenated (32 bytes each, largest subtree first), for a BLOB column;
 * store `size` beside it. popcount(size) × 32 bytes: at most 1,696 bytes for any safe size.
 */
export function frontierToBytes(frontier: Frontier): Uint8Array {
  return Buffer.concat(frontier.hashes);
}

/**
 * Reads back what {@link frontierToBytes} wrote, for a tree of `size` leaves. Throws bad-input
 * when the byte count is not popcount(size) × 32 (the size and the bytes do not belong together).
 */
export function frontierFromBytes(size: number, bytes: Uint8Array): Frontier {
  checkCount(size, "tree size");
  const want = popCount(size) * HASH_BYTES;
  if (bytes.length !== want) {
    badInput(`a frontier of a tree of ${size} leaves is ${want} bytes, got ${bytes.length}`);
  }
  const hashes: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += HASH_BYTES) hashes.push(bytes.slice(i, i + HASH_BYTES));
  return { size, hashes };
}
