/**
 * A second proof-bundle verifier, written only from docs/incident-log.md ("The Merkle tree",
 * "Checkpoints", "Proofs", "Verifying an export offline") — it imports nothing of @databook/tlog
 * (a test checks that), so where it agrees with the package the doc is complete and the two
 * implementations are right together. Deliberately built differently: JWK public keys, a thrown
 * class for failures, the doc's pseudo-code transcribed literally.
 */
import { createHash, createPublicKey, verify } from "node:crypto";

export type IndependentResult = { ok: true } | { ok: false; item: string; why: string };

class Rejected extends Error {}
function reject(why: string): never {
  throw new Rejected(why);
}

const sha256 = (...parts: (Uint8Array | number[])[]): Buffer => {
  const h = createHash("sha256");
  for (const p of parts) h.update(Uint8Array.from(p));
  return h.digest();
};
const leafHashOf = (bytes: Uint8Array) => sha256([0x00], bytes);
const nodeHashOf = (left: Uint8Array, right: Uint8Array) => sha256([0x01], left, right);
const EMPTY_ROOT = sha256();
const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;
const isWhole = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");
const isHex64 = (v: unknown): v is string => typeof v === "string" && /^[0-9a-f]{64}$/.test(v);

/** Standard base64 with padding, canonical: re-encoding the bytes gives the same text. */
function base64(text: string, what: string): Buffer {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) reject(`${what} is not base64`);
  const bytes = Buffer.from(text, "base64");
  if (bytes.toString("base64") !== text) reject(`${what} is not canonical base64`);
  return bytes;
}

/** Origin and key name rule: non-empty, no White_Space, no "+", no Cc control characters. */
function checkName(name: string, what: string): void {
  if (name.length === 0 || /[\p{White_Space}+\p{Cc}]/u.test(name) || !name.isWellFormed()) reject(`bad ${what}`);
}

type Key = { name: string; id: string; publicKey: Buffer };

function keyId(name: string, publicKey: Uint8Array): string {
  return sha256(Buffer.from(name, "utf8"), [0x0a, 0x01], publicKey).subarray(0, 4).toString("hex");
}

/** `<key name>+<key ID>+<base64(0x01 ‖ public key)>`. */
function parseKey(text: string): Key {
  const plus1 = text.indexOf("+");
  const plus2 = text.indexOf("+", plus1 + 1);
  if (plus1 < 0 || plus2 < 0) reject("a verifier key has three parts");
  const name = text.slice(0, plus1);
  const id = text.slice(plus1 + 1, plus2);
  checkName(name, "key name");
  if (!/^[0-9a-f]{8}$/.test(id)) reject("a key ID is 8 lowercase hex digits");
  const material = base64(text.slice(plus2 + 1), "key");
  if (material.length !== 33 || material[0] !== 0x01) reject("not an Ed25519 verifier key");
  const publicKey = material.subarray(1);
  if (keyId(name, publicKey) !== id) reject("key ID mismatch");
  return { name, id, publicKey };
}

/** Opens a signed note with trusted keys; returns its text. */
function openNote(note: string, keys: Key[]): string {
  if (!note.isWellFormed()) reject("not valid UTF-8");
  for (const ch of note) if (ch < " " && ch !== "\n") reject("control character in the note");
  const blank = note.lastIndexOf("\n\n");
  if (blank < 0) reject("no empty line before the signatures");
  const text = note.slice(0, blank + 1);
  const block = note.slice(blank + 2);
  if (!block.endsWith("\n")) reject("the last signature line has no newline");
  const lines = block.slice(0, -1).split("\n");
  if (lines.length > 100) reject("more than 100 signatures");
  const sigs = lines.map((line) => {
    if (!line.startsWith("\u2014 ")) reject("a signature line starts with an em dash and a space");
    const parts = line.slice(2).split(" ");
    if (parts.length !== 2) reject("a signature line is '— <name> <signature>'");
    const [name, sig] = parts as [string, string];
    checkName(name, "signature key name");
    const bytes = base64(sig, "signature");
    if (bytes.length < 5) reject("signature too short");
    return { name, id: bytes.subarray(0, 4).toString("hex"), signature: bytes.subarray(4) };
  });
  let verified = 0;
  for (const s of sigs) {
    const key = keys.find((k) => k.name === s.name && k.id === s.id);
    if (!key) continue;
    const pub = createPublicKey({
      key: { kty: "OKP", crv: "Ed25519", x: key.publicKey.toString("base64url") },
      format: "jwk",
    });
    if (s.signature.length !== 64 || !verify(null, Buffer.from(text, "utf8"), pub, s.signature)) {
      reject("a trusted key's signature does not verify");
    }
    verified++;
  }
  if (verified === 0) reject("no trusted key signed the note");
  return text;
}

type Tree = { origin: string; size: number; root: Buffer };

function parseCheckpointText(text: string): Tree {
  if (!text.endsWith("\n")) reject("checkpoint text ends with a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) reject("a checkpoint has at least three lines");
  const [origin, size, root] = lines as [string, string, string];
  checkName(origin, "origin");
  if (!/^(0|[1-9][0-9]*)$/.test(size) || Number(size) > Number.MAX_SAFE_INTEGER) reject("bad tree size");
  const rootHash = base64(root, "root hash");
  if (rootHash.length !== 32) reject("a root hash is 32 bytes");
  if (lines.slice(3).some((l) => l === "")) reject("empty extension line");
  return { origin, size: Number(size), root: rootHash };
}

const half = (x: number) => Math.floor(x / 2);
const odd = (x: number) => x % 2 === 1;

/** The doc's inclusion-proof pseudo-code. */
function inclusionHolds(i: number, n: number, h: Buffer, proof: Buffer[], R: Buffer): boolean {
  if (i >= n) return false;
  let fn = i;
  let sn = n - 1;
  let r = h;
  for (const p of proof) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      r = nodeHashOf(p, r);
      while (!odd(fn) && fn !== 0) [fn, sn] = [half(fn), half(sn)];
    } else {
      r = nodeHashOf(r, p);
    }
    [fn, sn] = [half(fn), half(sn)];
  }
  return sn === 0 && same(r, R);
}

/** The doc's consistency-proof pseudo-code. */
function consistencyHolds(m: number, n: number, A: Buffer, B: Buffer, given: Buffer[]): boolean {
  if (m > n) return false;
  if (m === n) return given.length === 0 && same(A, B);
  if (m === 0) return given.length === 0 && same(A, EMPTY_ROOT);
  if (given.length === 0) return false;
  const proof = (m & (m - 1)) === 0 ? [A, ...given] : given;
  let fn = m - 1;
  let sn = n - 1;
  while (odd(fn)) [fn, sn] = [half(fn), half(sn)];
  let fr = proof[0] as Buffer;
  let sr = fr;
  for (const c of proof.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = nodeHashOf(c, fr);
      sr = nodeHashOf(c, sr);
      while (!odd(fn) && fn !== 0) [fn, sn] = [half(fn), half(sn)];
    } else {
      sr = nodeHashOf(sr, c);
    }
    [fn, sn] = [half(fn), half(sn)];
  }
  return sn === 0 && same(fr, A) && same(sr, B);
}

const hashList = (list: string[], what: string) =>
  list.map((s) => {
    const h = base64(s, what);
    if (h.length !== 32) reject(`${what} is not 32 bytes`);
    return h;
  });

/**
 * Verifies a proof bundle (JSON text or parsed) as docs/incident-log.md "Verifying an export
 * offline" says. `item` is the failing item's name as the doc spells it.
 */
export function independentVerify(
  input: unknown,
  trustedKeys: string[],
  olderCheckpoints: string[] = [],
): IndependentResult {
  let item = "bundle";
  try {
    // 1. bundle
    let b = input as Record<string, unknown>;
    if (typeof input === "string") {
      try {
        b = JSON.parse(input);
      } catch {
        reject("not JSON");
      }
    }
    if (typeof b !== "object" || b === null || Array.isArray(b)) reject("not a JSON object");
    if (b.format !== "databook-proof-bundle/1") reject("wrong format");
    const { notebookId, origin, checkpoint, verifierKeys, entries, outputs, consistency } = b;
    if (typeof notebookId !== "string" || typeof origin !== "string" || typeof checkpoint !== "string") {
      reject("notebookId, origin and checkpoint are strings");
    }
    if (!isStrings(verifierKeys) || !Array.isArray(entries) || !Array.isArray(outputs)) reject("bad lists");
    const proofsFrom: { fromSize: number; proof: string[] }[] = [];
    if (consistency !== undefined) {
      if (!Array.isArray(consistency)) reject("consistency is a list");
      for (const c of consistency as unknown[]) {
        const { fromSize, proof } = (c ?? {}) as Record<string, unknown>;
        if (!isWhole(fromSize) || !isStrings(proof)) reject("bad consistency item");
        hashList(proof, "consistency proof hash");
        proofsFrom.push({ fromSize, proof });
      }
    }
    const nb = notebookId as string;
    const outs = outputs as unknown[];

    // 2. trusted keys
    const keys: Key[] = [];
    if (trustedKeys.length === 0) {
      item = "trusted key 1";
      reject("no key");
    }
    trustedKeys.forEach((k, i) => {
      item = `trusted key ${i + 1}`;
      keys.push(parseKey(k));
    });

    // 3. checkpoint
    item = "checkpoint";
    const tree = parseCheckpointText(openNote(checkpoint as string, keys));
    if (tree.origin !== origin) reject("origin differs");
    if (!(origin as string).endsWith(`/n/${nb}`)) reject("origin is not this notebook's");

    // 4. older checkpoints
    olderCheckpoints.forEach((note, i) => {
      item = `older checkpoint ${i + 1}`;
      const old = parseCheckpointText(openNote(note, keys));
      item = `older checkpoint ${i + 1} (size ${old.size})`;
      if (old.origin !== tree.origin) reject("another log");
      if (old.size > tree.size) reject("newer than the bundle");
      let proof: Buffer[] = [];
      if (old.size !== tree.size && old.size !== 0) {
        const found = proofsFrom.find((p) => p.fromSize === old.size);
        if (!found) reject("no consistency proof from its size");
        proof = hashList((found as { proof: string[] }).proof, "consistency proof hash");
      }
      if (!consistencyHolds(old.size, tree.size, old.root, tree.root, proof)) reject("not consistent");
    });

    // 5. output shapes
    const listed: { sha256: string; contentType: string; body?: string }[] = [];
    outs.forEach((o, i) => {
      item = `output ${i + 1} of the bundle`;
      const { sha256: hash, contentType, body } = (o ?? {}) as Record<string, unknown>;
      if (!isHex64(hash)) reject("bad sha256");
      item = `output ${hash}`;
      if (typeof contentType !== "string" || contentType === "") reject("bad contentType");
      if (body !== undefined && typeof body !== "string") reject("bad body");
      if (listed.some((l) => l.sha256 === hash && l.contentType === contentType)) reject("listed twice");
      listed.push({ sha256: hash, contentType, ...(body === undefined ? {} : { body: body as string }) });
    });

    // 6. entries
    const used = new Set<number>();
    let previous = 0;
    (entries as unknown[]).forEach((raw, i) => {
      item = `entry ${i + 1} of the bundle`;
      const { seq, leafIndex, canonical, inclusionProof } = (raw ?? {}) as Record<string, unknown>;
      if (!isWhole(seq) || seq < 1) reject("bad seq");
      item = `entry seq ${seq}`;
      if (!Number.isSafeInteger(leafIndex)) reject("bad leafIndex");
      if (typeof canonical !== "string" || !isStrings(inclusionProof)) reject("bad member types");
      if (seq <= previous) reject("out of order");
      previous = seq;
      if (leafIndex !== seq - 1) reject("leafIndex is not seq - 1");
      if ((leafIndex as number) >= tree.size) reject("not covered by the checkpoint");
      let parsed: unknown;
      try {
        parsed = JSON.parse(canonical as string);
      } catch {
        reject("canonical is not JSON");
      }
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) reject("canonical is not an object");
      const entry = parsed as Record<string, unknown>;
      if (entry.notebookId !== nb) reject("another notebook");
      if (entry.seq !== seq) reject("another seq");
      const data = entry.data as Record<string, unknown> | null;
      if (typeof data !== "object" || data === null || Array.isArray(data)) reject("no data object");
      const refHash = (data as Record<string, unknown>).outputHash;
      const refType = (data as Record<string, unknown>).contentType;
      if (refHash !== undefined) {
        if (!isHex64(refHash)) reject("bad outputHash");
        if (typeof refType !== "string") reject("no contentType");
      }
      const proof = hashList(inclusionProof as string[], "inclusion proof hash");
      const leaf = leafHashOf(Buffer.from(canonical as string, "utf8"));
      if (!inclusionHolds(leafIndex as number, tree.size, leaf, proof, tree.root)) reject("not in the tree");
      if (refHash !== undefined) {
        const exact = listed.findIndex((l) => l.sha256 === refHash && l.contentType === refType);
        if (exact >= 0) {
          used.add(exact);
        } else {
          if (listed.some((l) => l.sha256 === refHash)) {
            item = `output ${refHash} (entry seq ${seq})`;
            reject("content type differs");
          }
          reject("output not listed");
        }
      }
    });

    // 7. outputs
    listed.forEach((o, i) => {
      item = `output ${o.sha256}`;
      if (!used.has(i)) reject("nothing references it");
      if (o.body !== undefined && sha256(Buffer.from(o.body, "utf8")).toString("hex") !== o.sha256) {
        reject("body does not hash to sha256");
      }
    });
    return { ok: true };
  } catch (e) {
    if (e instanceof Rejected) return { ok: false, item, why: e.message };
    throw e;
  }
}
