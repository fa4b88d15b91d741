import { equalBytes, toBase64 } from "./bytes.ts";
import { badInput } from "./errors.ts";
import { EMPTY_ROOT, HASH_BYTES, nodeHash } from "./hash.ts";
import { checkCount, checkSource, type LeafSource, type SubtreeCache, splitPoint, subtreeHash } from "./tree.ts";

/**
 * RFC 9162 §2.1.3.1 inclusion proof (audit path) of leaf `index` in the tree of the first `size`
 * leaves: the sibling hashes from the leaf up to the root, ⌈log2 size⌉ of them at most. O(size)
 * hashes on a cold `cache`, O(log size) on a warm one. Throws bad-input unless 0 ≤ index < size.
 */
export function inclusionProof(index: number, size: number, leaves: LeafSource, cache?: SubtreeCache): Uint8Array[] {
  checkIndex(index, size);
  checkSource(leaves, size);
  const path: Uint8Array[] = [];
  let start = 0;
  let n = size;
  let m = index;
  while (n > 1) {
    const k = splitPoint(n);
    if (m < k) {
      path.push(subtreeHash(start + k, n - k, leaves, cache));
      n = k;
    } else {
      path.push(subtreeHash(start, k, leaves, cache));
      start += k;
      m -= k;
      n -= k;
    }
  }
  return path.reverse(); // found root-first, listed leaf-first
}

/**
 * RFC 9162 §2.1.4.1 consistency proof that the tree of the first `oldSize` leaves is a prefix of
 * the tree of the first `newSize`. Empty when oldSize is 0 or equals newSize (nothing to prove).
 * Throws bad-input unless 0 ≤ oldSize ≤ newSize.
 */
export function consistencyProof(
  oldSize: number,
  newSize: number,
  leaves: LeafSource,
  cache?: SubtreeCache,
): Uint8Array[] {
  checkSizes(oldSize, newSize);
  checkSource(leaves, newSize);
  if (oldSize === 0 || oldSize === newSize) return [];
  const proof: Uint8Array[] = [];
  let start = 0;
  let n = newSize;
  let m = oldSize;
  let oldTreeIsASubtree = true; // RFC's flag b: the old tree's root is a node of the new tree
  while (m !== n) {
    const k = splitPoint(n);
    if (m <= k) {
      proof.push(subtreeHash(start + k, n - k, leaves, cache));
      n = k;
    } else {
      proof.push(subtreeHash(start, k, leaves, cache));
      start += k;
      m -= k;
      n -= k;
      oldTreeIsASubtree = false;
    }
  }
  if (!oldTreeIsASubtree) proof.push(subtreeHash(start, n, leaves, cache));
  return proof.reverse();
}

/** How many hashes an honest inclusion proof of leaf `index` in a tree of `size` has. */
export function inclusionProofLength(index: number, size: number): number {
  checkIndex(index, size);
  let count = 0;
  for (let n = size, m = index; n > 1; count++) {
    const k = splitPoint(n);
    if (m < k) n = k;
    else [m, n] = [m - k, n - k];
  }
  return count;
}

/** How many hashes an honest consistency proof from `oldSize` to `newSize` has. */
export function consistencyProofLength(oldSize: number, newSize: number): number {
  checkSizes(oldSize, newSize);
  if (oldSize === 0 || oldSize === newSize) return 0;
  let count = 0;
  let whole = true;
  for (let n = newSize, m = oldSize; m !== n; count++) {
    const k = splitPoint(n);
    if (m <= k) n = k;
    else [m, n, whole] = [m - k, n - k, false];
  }
  return whole ? count : count + 1;
}

/**
 * The root an inclusion proof leads to: RFC 9162 §2.1.3.2 steps 1–5 without the final comparison.
 * Throws bad-input when the proof has the wrong number of hashes for (index, size) or a hash that
 * is not 32 bytes.
 */
export function rootFromInclusionProof(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
): Uint8Array {
  const want = inclusionProofLength(index, size);
  checkHashes(proof, want, `an inclusion proof of leaf ${index} in a tree of ${size}`);
  checkHash(leaf, "the leaf hash");
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) badInput(`the inclusion proof of leaf ${index} is longer than the path to the root`);
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      // skip the levels where this node has no right sibling (the right edge of an unbalanced tree)
      while (fn % 2 === 0 && fn !== 0) [fn, sn] = [fn / 2, Math.floor(sn / 2)];
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) badInput(`the inclusion proof of leaf ${index} does not reach the root of a tree of ${size}`);
  return r;
}

/**
 * Checks an RFC 9162 §2.1.3.2 inclusion proof: leaf hash `leaf` is leaf `index` of the tree of
 * `size` leaves whose root is `root`. Returns nothing; throws bad-input saying what is wrong
 * (index outside the tree, proof of the wrong length, or a root that differs).
 */
export function verifyInclusion(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  checkHash(root, "the root hash");
  const got = rootFromInclusionProof(index, size, leaf, proof);
  if (!equalBytes(got, root)) {
    badInput(
      `leaf ${index} with this proof gives root ${toBase64(got)}, not ${toBase64(root)}: ` +
        "the leaf's bytes or the proof were changed, or the leaf is not in this tree",
    );
  }
}

/**
 * Checks an RFC 9162 §2.1.4.2 consistency proof: the tree of `oldSize` leaves with root `oldRoot`
 * is a prefix of the tree of `newSize` leaves with root `newRoot` — nothing in the first `oldSize`
 * leaves was changed, removed or reordered. Equal sizes need equal roots and an empty proof; size
 * 0 needs the empty root. Returns nothing; throws bad-input saying which side does not match.
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): void {
  checkSizes(oldSize, newSize);
  checkHash(oldRoot, "the old root hash");
  checkHash(newRoot, "the new root hash");
  const want = consistencyProofLength(oldSize, newSize);
  checkHashes(proof, want, `a consistency proof from tree size ${oldSize} to ${newSize}`);
  if (oldSize === 0) {
    if (!equalBytes(oldRoot, EMPTY_ROOT)) badInput("a tree of size 0 has the empty root (SHA-256 of nothing)");
    return;
  }
  if (oldSize === newSize) {
    if (!equalBytes(oldRoot, newRoot)) {
      badInput(`two trees of the same size ${oldSize} have different roots: the log was rewritten`);
    }
    return;
  }
  // RFC 9162 §2.1.4.2 steps 2–7
  const path = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : proof;
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
  let fr = path[0] as Uint8Array; // the length check above makes the path non-empty
  let sr = fr;
  for (const c of path.slice(1)) {
    if (sn === 0) badInput(`the consistency proof from ${oldSize} to ${newSize} is longer than the path to the root`);
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) [fn, sn] = [fn / 2, Math.floor(sn / 2)];
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) badInput(`the consistency proof from ${oldSize} to ${newSize} does not reach the new root`);
  if (!equalBytes(fr, oldRoot)) {
    badInput(
      `the consistency proof does not rebuild the old root of size ${oldSize}: ` +
        "the first entries were changed, or the old checkpoint belongs to another history",
    );
  }
  if (!equalBytes(sr, newRoot)) {
    badInput(
      `the consistency proof does not lead from the old tree (size ${oldSize}) to the new root (size ${newSize}): ` +
        "the new tree does not extend the old one (entries were changed or removed) or the proof was changed",
    );
  }
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && splitPoint(n * 2) === n;
}

function checkIndex(index: number, size: number): void {
  checkCount(size, "tree size");
  checkCount(index, "leaf index");
  if (index >= size) {
    badInput(
      size === 0
        ? `leaf index ${index} is outside the empty tree`
        : `leaf index ${index} is outside a tree of ${size} leaves (indices 0..${size - 1})`,
    );
  }
}

function checkSizes(oldSize: number, newSize: number): void {
  checkCount(oldSize, "old tree size");
  checkCount(newSize, "new tree size");
  if (oldSize > newSize) {
    badInput(`old tree size ${oldSize} is larger than new tree size ${newSize} (a log only grows; swap them?)`);
  }
}

function checkHash(h: Uint8Array, what: string): void {
  if (!(h instanceof Uint8Array) || h.length !== HASH_BYTES) badInput(`${what} is not ${HASH_BYTES} bytes`);
}

function checkHashes(proof: readonly Uint8Array[], want: number, what: string): void {
  if (!Array.isArray(proof)) badInput(`${what} must be a list of hashes`);
  if (proof.length !== want) badInput(`${what} has ${want} hashes; this one has ${proof.length}`);
  proof.forEach((h, i) => {
    checkHash(h, `hash ${i} of ${what}`);
  });
}
