import { createHash, hash } from "node:crypto";

/** Bytes in every hash of the tree (SHA-256). */
export const HASH_BYTES = 32;

const LEAF_PREFIX = new Uint8Array([0x00]);

/** The root of the empty tree: SHA-256 of nothing (RFC 9162 §2.1.1). */
export const EMPTY_ROOT: Uint8Array = createHash("sha256").digest();

/**
 * RFC 6962 / RFC 9162 §2.1.1 leaf hash: SHA-256(0x00 ‖ data). A string is hashed as its UTF-8
 * bytes (a log entry's canonical form). Returns 32 bytes.
 */
export function leafHash(data: string | Uint8Array): Uint8Array {
  return createHash("sha256").update(LEAF_PREFIX).update(data).digest();
}

// One scratch buffer for node hashing: crypto.hash on one 65-byte buffer is about twice as fast
// as a streaming hash with three updates, and this is the hot path of every proof and append.
const nodeInput = Buffer.alloc(1 + 2 * HASH_BYTES);
nodeInput[0] = 0x01;

/** RFC 6962 / RFC 9162 §2.1.1 interior node hash: SHA-256(0x01 ‖ left ‖ right). Returns 32 bytes. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length !== HASH_BYTES || right.length !== HASH_BYTES) {
    return createHash("sha256").update(nodeInput.subarray(0, 1)).update(left).update(right).digest();
  }
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_BYTES);
  return hash("sha256", nodeInput, "buffer");
}
