/**
 * @databook/tlog — a verifiable incident log, pure and storage-agnostic: RFC 6962 / RFC 9162
 * Merkle trees (roots, an appendable frontier, inclusion and consistency proofs), Ed25519 keys and
 * C2SP signed notes, C2SP tlog-checkpoints, and the offline proof bundle. docs/incident-log.md
 * describes every format. Every function throws `{ kind: "bad-input", message }` on bad input.
 */
export * from "./build-bundle.ts";
export * from "./bundle-format.ts";
export { equalBytes, fromBase64, toBase64, toHex } from "./bytes.ts";
export * from "./checkpoint.ts";
export * from "./entry-facts.ts";
export * from "./errors.ts";
export * from "./frontier.ts";
export * from "./hash.ts";
export * from "./keys.ts";
export * from "./note.ts";
export * from "./proof.ts";
export { type LeafSource, type SubtreeCache, subtreeHash, treeRoot } from "./tree.ts";
export * from "./verify-bundle.ts";
