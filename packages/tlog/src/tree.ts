import { badInput } from "./errors.ts";
import { EMPTY_ROOT, HASH_BYTES, nodeHash } from "./hash.ts";

/**
 * Where the tree's leaf hashes come from: an array (index 0 = the first entry's leaf hash), or a
 * function returning leaf `i`'s 32-byte hash — e.g. one that hashes the i-th entry's canonical form
 * on demand, so a caller never has to hold them all.
 */
export type LeafSource = readonly Uint8Array[] | ((index: number) => Uint8Array);

/**
 * Memo of the hashes of complete (power-of-two) subtrees, filled by the functions that take one.
 * A complete subtree never changes as the log grows, so one cache stays valid for every later tree
 * size of the same log: pass the same `new Map()` to many proof calls and each one after the first
 * costs O(log n) hashes instead of O(n). Holds at most about n entries of 32 bytes (n = leaves).
 * Keys are internal; treat it as opaque.
 */
export type SubtreeCache = Map<number, Uint8Array>;

/** Largest power of two strictly smaller than `n` (n ≥ 2): RFC 9162 §2.1.1's split point `k`. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** Throws unless `n` is an integer in 0..2^53-1; `what` names it in the message. */
export function checkCount(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) badInput(`${what} must be a whole number ≥ 0, got ${String(n)}`);
}

/** Throws unless `leaves` can supply the first `size` leaves (an array must be long enough). */
export function checkSource(leaves: LeafSource, size: number): void {
  if (typeof leaves !== "function" && leaves.length < size) {
    badInput(`the tree needs ${size} leaf hashes but only ${leaves.length} were given`);
  }
}

function leafAt(leaves: LeafSource, i: number): Uint8Array {
  const h = typeof leaves === "function" ? leaves(i) : leaves[i];
  if (!(h instanceof Uint8Array) || h.length !== HASH_BYTES) {
    badInput(`leaf hash ${i} is not ${HASH_BYTES} bytes (pass leaf hashes, i.e. leafHash(bytes), not raw bytes)`);
  }
  return h;
}

/**
 * Hash of the subtree over leaves [start, start + size), size ≥ 1, shaped as RFC 9162 §2.1.1
 * (split at the largest power of two smaller than the size). Every complete subtree met on the
 * way is aligned (its start is a multiple of its size), so `start * 2 + size - 1` — its position
 * in an in-order numbering — names it uniquely in the cache.
 */
export function subtreeHash(start: number, size: number, leaves: LeafSource, cache?: SubtreeCache): Uint8Array {
  if (size === 1) return leafAt(leaves, start);
  const k = splitPoint(size);
  const complete = k * 2 === size;
  const key = start * 2 + size - 1;
  if (complete && cache) {
    const hit = cache.get(key);
    if (hit) return hit;
  }
  const h = nodeHash(subtreeHash(start, k, leaves, cache), subtreeHash(start + k, size - k, leaves, cache));
  if (complete && cache) cache.set(key, h);
  return h;
}

/**
 * RFC 9162 §2.1.1 Merkle tree hash (the root) of the first `size` leaves. O(size) hashes, or fewer
 * with a warm `cache`. Throws bad-input for a bad size or leaf hash.
 */
export function treeRoot(size: number, leaves: LeafSource, cache?: SubtreeCache): Uint8Array {
  checkCount(size, "tree size");
  checkSource(leaves, size);
  return size === 0 ? EMPTY_ROOT : subtreeHash(0, size, leaves, cache);
}
