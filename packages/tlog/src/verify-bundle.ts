import { createHash } from "node:crypto";
import type { DatabookError } from "@databook/wire";
import { BUNDLE_FORMAT, type BundleConsistency, type BundleEntry, type BundleOutput } from "./bundle-format.ts";
import { fromBase64, toBase64 } from "./bytes.ts";
import { type OpenedCheckpoint, openCheckpoint } from "./checkpoint.ts";
import { type EntryReader, isSha256Hex, type OutputRef, readCanonicalEntry } from "./entry-facts.ts";
import { badInput, isDatabookError } from "./errors.ts";
import { HASH_BYTES, leafHash } from "./hash.ts";
import { parseVerifierKey, type VerifierKey } from "./keys.ts";
import { verifyConsistency, verifyInclusion } from "./proof.ts";

/**
 * The part of a bundle a failure is about. `index` is the position in the bundle's list (or in
 * `olderCheckpoints` / the trusted keys), 0-based; `seq` and `sha256` name the entry or output.
 */
export type BundleItem =
  | { readonly kind: "bundle" }
  | { readonly kind: "key"; readonly index: number }
  | { readonly kind: "checkpoint" }
  | { readonly kind: "older-checkpoint"; readonly index: number; readonly fromSize?: number }
  | { readonly kind: "entry"; readonly index: number; readonly seq?: number }
  | { readonly kind: "output"; readonly index: number; readonly sha256?: string; readonly seq?: number };

/** The outcome of {@link verifyBundle}. */
export type BundleReport =
  | {
      readonly ok: true;
      readonly origin: string;
      readonly treeSize: number;
      /** base64, as in the checkpoint */
      readonly rootHash: string;
      /** `<name>+<key ID>` of each trusted key that signed the checkpoint */
      readonly signedBy: readonly string[];
      readonly entries: number;
      readonly outputs: number;
      /** true when the entries are the whole log up to the checkpoint (seq 1..treeSize) */
      readonly wholeTree: boolean;
      /** sizes of the `olderCheckpoints` the bundle's tree was proved to extend */
      readonly consistentWith: readonly number[];
    }
  | {
      readonly ok: false;
      /** the first item that failed, in the order the checks run */
      readonly item: BundleItem;
      /** kind "bad-input"; the message starts by naming the item ("entry seq 12: …") */
      readonly error: DatabookError;
    };

/** Options of {@link verifyBundle}. */
export type VerifyBundleOptions = {
  /** Require this exact origin (e.g. `databook.example.com/n/<id>`) rather than any ending in `/n/<notebookId>`. */
  readonly origin?: string;
  /**
   * Checkpoint notes the reader kept from earlier (from the page, a notification, a previous
   * export). Each must be signed by a trusted key, name the same log, and the bundle must prove
   * its tree extends each one — this is what catches a log cut off or rewritten since.
   */
  readonly olderCheckpoints?: readonly string[];
  /** Reads facts out of an entry's canonical form; default {@link readCanonicalEntry}. */
  readonly readEntry?: EntryReader;
};

/**
 * Verifies a proof bundle (parsed JSON, or its JSON text) with no database, trusting only `keys`
 * (verifier key text or parsed keys; never the bundle's own `verifierKeys`). Checks, in this order,
 * and stops at the first failure:
 * 1. the bundle's shape (`format`, member types);
 * 2. each trusted key parses;
 * 3. the checkpoint: signed by a trusted key (c2sp.org/signed-note rules), a strict
 *    c2sp.org/tlog-checkpoint body, origin equal to `origin`, ending in `/n/<notebookId>`;
 * 4. each of `olderCheckpoints`: signed, same origin, not larger, and a consistency proof from its
 *    size in the bundle that holds;
 * 5. each listed output's shape (sha256 is 64 lowercase hex, no (sha256, contentType) twice);
 * 6. each entry in bundle order: seq increasing, leafIndex = seq − 1 < tree size, the canonical
 *    form names this notebook and this seq, its inclusion proof leads to the checkpoint's root,
 *    and every output it references is listed with the same content type;
 * 7. each listed output: referenced by an included entry, and its `body`, if present, hashes to
 *    its sha256.
 * Returns a {@link BundleReport}; never throws for a bad bundle (only for a bug).
 */
export function verifyBundle(
  bundle: unknown,
  keys: readonly (VerifierKey | string)[],
  options: VerifyBundleOptions = {},
): BundleReport {
  let item: BundleItem = { kind: "bundle" };
  const at = (next: BundleItem) => {
    item = next;
  };
  try {
    return check(bundle, keys, options, at);
  } catch (e) {
    if (!isDatabookError(e)) throw e;
    return { ok: false, item, error: { kind: e.kind, message: `${describeItem(item)}: ${e.message}` } };
  }
}

/** "entry seq 12", "output 9f86d0… (entry seq 7)", … — how a failure message names its item. */
export function describeItem(item: BundleItem): string {
  switch (item.kind) {
    case "bundle":
      return "bundle";
    case "key":
      return `trusted key ${item.index + 1}`;
    case "checkpoint":
      return "checkpoint";
    case "older-checkpoint":
      return `older checkpoint ${item.index + 1}${item.fromSize === undefined ? "" : ` (size ${item.fromSize})`}`;
    case "entry":
      return item.seq === undefined ? `entry ${item.index + 1} of the bundle` : `entry seq ${item.seq}`;
    case "output": {
      const name = item.sha256 === undefined ? `output ${item.index + 1} of the bundle` : `output ${item.sha256}`;
      return item.seq === undefined ? name : `${name} (entry seq ${item.seq})`;
    }
  }
}

type Shape = {
  notebookId: string;
  origin: string;
  checkpoint: string;
  entries: unknown[];
  outputs: unknown[];
  consistency: unknown[];
};

function check(
  raw: unknown,
  keys: readonly (VerifierKey | string)[],
  options: VerifyBundleOptions,
  at: (item: BundleItem) => void,
): BundleReport {
  const b = readShape(raw);

  const trusted = keys.map((k, index) => {
    at({ kind: "key", index });
    return typeof k === "string" ? parseVerifierKey(k) : k;
  });
  at({ kind: "key", index: 0 });
  if (trusted.length === 0) badInput("no trusted key given: pass the log's public key (its verifier key text)");
  at({ kind: "checkpoint" });
  const cp = openCheckpoint(b.checkpoint, trusted);
  if (cp.origin !== b.origin) badInput(`it is for log ${cp.origin} but the bundle says ${b.origin}`);
  if (!cp.origin.endsWith(`/n/${b.notebookId}`)) {
    badInput(`its origin ${cp.origin} is not notebook ${b.notebookId}'s (it must end in /n/${b.notebookId})`);
  }
  if (options.origin !== undefined && cp.origin !== options.origin) {
    badInput(`it is for log ${cp.origin}, not the expected ${options.origin}`);
  }

  const consistentWith = (options.olderCheckpoints ?? []).map((note, index) => {
    at({ kind: "older-checkpoint", index });
    return checkOlder(note, cp, b.consistency, trusted, (fromSize) =>
      at({ kind: "older-checkpoint", index, fromSize }),
    );
  });

  const listed = new Map<string, number>(); // "sha256 contentType" → index in outputs
  const outputs = b.outputs.map((o, index) => {
    at({ kind: "output", index });
    const out = readOutput(o, (sha256) => at({ kind: "output", index, sha256 }));
    const key = `${out.sha256} ${out.contentType}`;
    if (listed.has(key)) badInput(`it is listed twice with content type ${out.contentType}`);
    listed.set(key, index);
    return out;
  });

  const readEntry = options.readEntry ?? readCanonicalEntry;
  const referenced = new Set<number>();
  let lastSeq = 0;
  b.entries.forEach((raw, index) => {
    at({ kind: "entry", index });
    const e = readEntryShape(raw, (seq) => at({ kind: "entry", index, seq }));
    if (e.seq <= lastSeq) badInput(`entries must be in increasing seq order; it comes after seq ${lastSeq}`);
    lastSeq = e.seq;
    if (e.leafIndex !== e.seq - 1) badInput(`its leafIndex is ${e.leafIndex}; entry seq ${e.seq} is leaf ${e.seq - 1}`);
    if (e.leafIndex >= cp.size) {
      badInput(`it is not covered by the checkpoint, whose tree has ${cp.size} entries`);
    }
    const facts = readEntry(e.canonical);
    if (facts.notebookId !== b.notebookId) badInput(`its canonical form is for notebook ${facts.notebookId}`);
    if (facts.seq !== e.seq) badInput(`its canonical form says seq ${facts.seq}`);
    const proof = e.inclusionProof.map((h, i) => fromBase64(h, `hash ${i} of its inclusion proof`, HASH_BYTES));
    verifyInclusion(e.leafIndex, cp.size, leafHash(e.canonical), proof, cp.rootHash);
    for (const ref of facts.outputs) referenced.add(findListed(ref, e.seq, outputs, listed, at));
  });

  outputs.forEach((o, index) => {
    at({ kind: "output", index, sha256: o.sha256 });
    if (!referenced.has(index)) {
      badInput(`no included entry references it with content type ${o.contentType}, so nothing proves it`);
    }
    if (o.body !== undefined && sha256Hex(o.body) !== o.sha256) {
      badInput(`its body hashes to ${sha256Hex(o.body)}: the body was changed or swapped`);
    }
  });

  return {
    ok: true,
    origin: cp.origin,
    treeSize: cp.size,
    rootHash: toBase64(cp.rootHash),
    signedBy: cp.signedBy.map((k) => `${k.name}+${k.keyId}`),
    entries: b.entries.length,
    outputs: outputs.length,
    wholeTree: b.entries.length === cp.size,
    consistentWith,
  };
}

function checkOlder(
  note: string,
  cp: OpenedCheckpoint,
  proofs: unknown[],
  trusted: readonly VerifierKey[],
  sized: (fromSize: number) => void,
): number {
  const old = openCheckpoint(note, trusted);
  sized(old.size);
  if (old.origin !== cp.origin) badInput(`it is for log ${old.origin}, not ${cp.origin}`);
  if (old.size > cp.size) {
    badInput(`it is newer than the bundle's checkpoint (size ${cp.size}): ask for a fresh export`);
  }
  let proof: readonly string[] = [];
  if (old.size !== cp.size && old.size !== 0) {
    const found = proofs.find((p): p is BundleConsistency => (p as BundleConsistency).fromSize === old.size);
    if (!found) badInput(`the bundle carries no consistency proof from tree size ${old.size}`);
    proof = found.proof;
  }
  const hashes = proof.map((h, i) => fromBase64(h, `hash ${i} of the consistency proof`, HASH_BYTES));
  verifyConsistency(old.size, cp.size, old.rootHash, cp.rootHash, hashes);
  return old.size;
}

function findListed(
  ref: OutputRef,
  seq: number,
  outputs: readonly BundleOutput[],
  listed: ReadonlyMap<string, number>,
  at: (item: BundleItem) => void,
): number {
  const index = listed.get(`${ref.sha256} ${ref.contentType}`);
  if (index !== undefined) return index;
  const other = outputs.findIndex((o) => o.sha256 === ref.sha256);
  if (other >= 0) {
    at({ kind: "output", index: other, sha256: ref.sha256, seq });
    badInput(`it is listed as ${outputs[other]?.contentType} but the entry records ${ref.contentType}`);
  }
  badInput(`it references output ${ref.sha256}, which the bundle does not list`);
}

function readShape(raw: unknown): Shape {
  let b = raw;
  if (typeof b === "string") {
    try {
      b = JSON.parse(b);
    } catch {
      badInput("it is not JSON");
    }
  }
  if (typeof b !== "object" || b === null || Array.isArray(b)) badInput("it is not a JSON object");
  const o = b as Record<string, unknown>;
  if (o.format !== BUNDLE_FORMAT) badInput(`its format is ${JSON.stringify(o.format)}, expected "${BUNDLE_FORMAT}"`);
  for (const k of ["notebookId", "origin", "checkpoint"] as const) {
    if (typeof o[k] !== "string") badInput(`its ${k} must be a string`);
  }
  if (!Array.isArray(o.verifierKeys) || !o.verifierKeys.every((k) => typeof k === "string")) {
    badInput("its verifierKeys must be a list of strings");
  }
  if (!Array.isArray(o.entries)) badInput("its entries must be a list");
  if (!Array.isArray(o.outputs)) badInput("its outputs must be a list");
  if (o.consistency !== undefined) {
    if (!Array.isArray(o.consistency)) badInput("its consistency must be a list");
    o.consistency.forEach((c: unknown, i) => {
      const { fromSize, proof } = (c ?? {}) as Partial<BundleConsistency>;
      if (!Number.isSafeInteger(fromSize) || (fromSize as number) < 0 || !isStringList(proof)) {
        badInput(`its consistency[${i}] must be { fromSize: whole number, proof: [base64…] }`);
      }
      for (const [j, h] of proof.entries()) fromBase64(h, `hash ${j} of its consistency[${i}] proof`, HASH_BYTES);
    });
  }
  return {
    notebookId: o.notebookId as string,
    origin: o.origin as string,
    checkpoint: o.checkpoint as string,
    entries: o.entries,
    outputs: o.outputs,
    consistency: (o.consistency as unknown[] | undefined) ?? [],
  };
}

/** Checks an entry's member types; `named` is told its seq as soon as that checks out. */
function readEntryShape(raw: unknown, named: (seq: number) => void): BundleEntry {
  const e = (raw ?? {}) as Partial<BundleEntry>;
  if (!Number.isSafeInteger(e.seq) || (e.seq as number) < 1) badInput("its seq must be a whole number ≥ 1");
  named(e.seq as number);
  if (!Number.isSafeInteger(e.leafIndex)) badInput("its leafIndex must be a whole number");
  if (typeof e.canonical !== "string") badInput("its canonical form must be a string");
  if (!isStringList(e.inclusionProof)) badInput("its inclusionProof must be a list of base64 hashes");
  return e as BundleEntry;
}

/** Checks an output's member types; `named` is told its sha256 as soon as that checks out. */
function readOutput(raw: unknown, named: (sha256: string) => void): BundleOutput {
  const o = (raw ?? {}) as Partial<BundleOutput>;
  if (!isSha256Hex(o.sha256)) badInput("its sha256 must be 64 lowercase hex digits");
  named(o.sha256);
  if (typeof o.contentType !== "string" || o.contentType === "") badInput("its contentType must be a string");
  if (o.body !== undefined && typeof o.body !== "string") badInput("its body, when present, must be a string");
  return o as BundleOutput;
}

function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === "string");
}

function sha256Hex(body: string): string {
  return createHash("sha256").update(body, "utf8").digest("hex");
}
