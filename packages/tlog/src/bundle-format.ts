/**
 * The proof bundle: a JSON document that lets anyone check, with no database and no server, that
 * some entries of one notebook's log (and the outputs they reference) are exactly what the log
 * holds, given only the log's public key. docs/incident-log.md ("Verifying an export offline")
 * describes it for people writing their own verifier.
 *
 * ```json
 * {
 *   "format": "databook-proof-bundle/1",
 *   "notebookId": "V1StGXR8_Z5jdHi6B-myT",
 *   "origin": "databook.example.com/n/V1StGXR8_Z5jdHi6B-myT",
 *   "verifierKeys": ["databook.example.com+fc0cdd10+AWJL…"],
 *   "checkpoint": "databook.example.com/n/V1StGXR8_Z5jdHi6B-myT\n42\nq2Vh…=\n\n— databook.example.com Pyqc…=\n",
 *   "entries": [{ "seq": 7, "leafIndex": 6, "canonical": "{\"actor\":\"ana\",…}", "inclusionProof": ["…=", "…="] }],
 *   "outputs": [{ "sha256": "9f86d0…", "contentType": "application/vnd.databook.table+json", "body": "…" }],
 *   "consistency": [{ "fromSize": 30, "proof": ["…=", "…="] }]
 * }
 * ```
 *
 * - `checkpoint`: a c2sp.org/tlog-checkpoint signed note of the notebook's tree; its origin equals
 *   `origin`, which ends in `/n/<notebookId>`.
 * - `verifierKeys`: the keys the server says signed it — shown to the reader, never trusted: the
 *   verifier brings its own key.
 * - `entries`: in increasing `seq`; leaf `leafIndex` = `seq` − 1 of the tree; `canonical` is the
 *   exact string whose UTF-8 bytes are the leaf (the entry's canonical form, docs/incident-log.md);
 *   `inclusionProof` is the RFC 9162 audit path, base64 hashes, leaf first.
 * - `outputs`: one per distinct (sha256, contentType) that an included entry references;
 *   `sha256` is lowercase hex of the body's UTF-8 bytes; `body`, when present, must hash to it.
 * - `consistency` (optional): RFC 9162 consistency proofs from earlier tree sizes to the
 *   checkpoint's, for a reader who kept an earlier checkpoint.
 */
export type ProofBundle = {
  readonly format: typeof BUNDLE_FORMAT;
  readonly notebookId: string;
  readonly origin: string;
  readonly verifierKeys: readonly string[];
  readonly checkpoint: string;
  readonly entries: readonly BundleEntry[];
  readonly outputs: readonly BundleOutput[];
  readonly consistency?: readonly BundleConsistency[];
};

/** One log entry in a bundle; see {@link ProofBundle}. */
export type BundleEntry = {
  readonly seq: number;
  readonly leafIndex: number;
  readonly canonical: string;
  readonly inclusionProof: readonly string[];
};

/** One stored output in a bundle; see {@link ProofBundle}. */
export type BundleOutput = { readonly sha256: string; readonly contentType: string; readonly body?: string };

/** A consistency proof from tree size `fromSize` to the bundle checkpoint's size; see {@link ProofBundle}. */
export type BundleConsistency = { readonly fromSize: number; readonly proof: readonly string[] };

/** The `format` member of every bundle this package writes and reads. */
export const BUNDLE_FORMAT = "databook-proof-bundle/1";
