/**
 * An honest export of a fixture notebook and a matrix of tampered copies, each with the item a
 * verifier must name. Shared by the package's bundle tests and the independent verifier's tests.
 */
import {
  type BundleItem,
  buildBundle,
  generateSigningKey,
  leafHash,
  type ProofBundle,
  type SigningKey,
  signCheckpoint,
  treeRoot,
  verifierKeyOf,
} from "../src/index.ts";
import { type FixtureLog, fixtureLog } from "./fixture-log.ts";

export type Case = {
  name: string;
  bundle: ProofBundle;
  /** trusted keys as verifier key text */
  keys: string[];
  olderCheckpoints?: string[];
  /** undefined: the bundle must verify */
  fails?: { item: BundleItem; message: RegExp };
};

const HOST = "databook.test";
const clone = <T>(v: T): T => structuredClone(v) as T;
type Mutable = { -readonly [K in keyof ProofBundle]: ProofBundle[K] } & {
  entries: { seq: number; leafIndex: number; canonical: string; inclusionProof: string[] }[];
  outputs: { sha256: string; contentType: string; body?: string }[];
};
const edit = (b: ProofBundle, f: (m: Mutable) => void): ProofBundle => {
  const m = clone(b) as Mutable;
  f(m);
  return m;
};

/** Signs the checkpoint of the first `size` entries of `log` and bundles the entries with the given seqs. */
export function exportOf(
  log: FixtureLog,
  key: SigningKey,
  size: number,
  seqs: readonly number[],
  consistencyFrom: readonly number[] = [],
): ProofBundle {
  const leaves = log.canonical.map((c) => leafHash(c));
  const checkpoint = checkpointOf(log, key, size);
  const entries = seqs.map((seq) => ({ seq, canonical: log.canonical[seq - 1] as string }));
  const refs = new Set(entries.map((e) => JSON.parse(e.canonical).data.outputHash));
  return buildBundle({
    notebookId: log.notebookId,
    checkpoint,
    verifierKeys: [verifierKeyOf(key)],
    leaves,
    entries,
    outputs: log.outputs.filter((o) => refs.has(o.sha256)),
    consistencyFrom,
  });
}

/** The signed checkpoint of the first `size` entries of `log`. */
export function checkpointOf(log: FixtureLog, key: SigningKey, size: number): string {
  const leaves = log.canonical.map((c) => leafHash(c));
  return signCheckpoint(
    { origin: `${HOST}/n/${log.notebookId}`, size, rootHash: treeRoot(size, leaves), extensions: [] },
    key,
  );
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** The honest bundles and every tampering, built with a fresh key. */
export function cases(): Case[] {
  const key = generateSigningKey(HOST);
  const vkey = `${key.name}+${key.keyId}+${Buffer.concat([Buffer.from([1]), key.publicKey]).toString("base64")}`;
  const keys = [vkey];
  const log = fixtureLog("nb-1", 20); // 41 entries; run r's output is referenced by seq 2r + 3
  const honest = exportOf(log, key, 41, range(1, 41), [25]);
  const out = honest.outputs;

  const rewritten: FixtureLog = clone(log);
  rewritten.canonical[4] = (rewritten.canonical[4] as string).replace('"durationMs":13', '"durationMs":9999');
  const other = fixtureLog("nb-2", 20);

  const badSig = (() => {
    const [text, sig] = honest.checkpoint.split("\n\n") as [string, string];
    const raw = Buffer.from(sig.trim().split(" ")[2] as string, "base64");
    raw[20] = (raw[20] as number) ^ 0x40;
    return `${text}\n\n— ${HOST} ${raw.toString("base64")}\n`;
  })();

  return [
    { name: "honest, whole log", bundle: honest, keys },
    { name: "honest, some entries", bundle: exportOf(log, key, 41, [1, 5, 6, 7, 40]), keys },
    {
      name: "honest, against an older checkpoint",
      bundle: honest,
      keys,
      olderCheckpoints: [checkpointOf(log, key, 25)],
    },
    {
      name: "honest, older checkpoint of the same size",
      bundle: honest,
      keys,
      olderCheckpoints: [checkpointOf(log, key, 41)],
    },
    {
      name: "changed entry bytes",
      bundle: edit(honest, (b) => {
        b.entries[10]!.canonical = b.entries[10]!.canonical.replace('"durationMs":16', '"durationMs":17');
      }),
      keys,
      fails: { item: { kind: "entry", index: 10, seq: 11 }, message: /gives root/ },
    },
    {
      name: "entry relabelled with the next seq",
      bundle: edit(honest, (b) => {
        b.entries[10]!.seq = 12;
        b.entries[10]!.leafIndex = 11;
      }),
      keys,
      fails: { item: { kind: "entry", index: 10, seq: 12 }, message: /says seq 11/ },
    },
    {
      name: "leaf index that is not seq − 1",
      bundle: edit(honest, (b) => {
        b.entries[3]!.leafIndex = 2;
      }),
      keys,
      fails: { item: { kind: "entry", index: 3, seq: 4 }, message: /leafIndex/ },
    },
    {
      name: "inclusion proof missing a hash",
      bundle: edit(honest, (b) => {
        b.entries[5]!.inclusionProof.pop();
      }),
      keys,
      fails: { item: { kind: "entry", index: 5, seq: 6 }, message: /has 6 hashes; this one has 5/ },
    },
    {
      name: "inclusion proof hash not base64",
      bundle: edit(honest, (b) => {
        b.entries[0]!.inclusionProof[0] = "!!";
      }),
      keys,
      fails: { item: { kind: "entry", index: 0, seq: 1 }, message: /base64/ },
    },
    {
      name: "entries out of order",
      bundle: edit(honest, (b) => {
        [b.entries[2], b.entries[3]] = [b.entries[3]!, b.entries[2]!];
      }),
      keys,
      fails: { item: { kind: "entry", index: 3, seq: 3 }, message: /increasing seq/ },
    },
    {
      name: "entry not covered by a truncated checkpoint",
      bundle: edit(exportOf(log, key, 30, range(1, 30)), (b) => {
        b.entries.push({ ...honest.entries[30]!, inclusionProof: [...honest.entries[30]!.inclusionProof] });
      }),
      keys,
      fails: { item: { kind: "entry", index: 30, seq: 31 }, message: /not covered by the checkpoint/ },
    },
    {
      name: "log cut back and re-signed, reader kept a later checkpoint",
      bundle: exportOf(log, key, 30, range(1, 30)),
      keys,
      olderCheckpoints: [checkpointOf(log, key, 41)],
      fails: { item: { kind: "older-checkpoint", index: 0, fromSize: 41 }, message: /newer than the bundle's/ },
    },
    {
      name: "history rewritten and re-signed, reader kept an older checkpoint",
      bundle: exportOf(rewritten, key, 41, range(1, 41), [25]),
      keys,
      olderCheckpoints: [checkpointOf(log, key, 25)],
      fails: { item: { kind: "older-checkpoint", index: 0, fromSize: 25 }, message: /does not rebuild the old root/ },
    },
    {
      name: "history rewritten and re-signed, no older checkpoint (undetectable by design)",
      bundle: exportOf(rewritten, key, 41, range(1, 41)),
      keys,
    },
    {
      name: "older checkpoint but no consistency proof from its size",
      bundle: exportOf(log, key, 41, range(1, 41)),
      keys,
      olderCheckpoints: [checkpointOf(log, key, 25)],
      fails: { item: { kind: "older-checkpoint", index: 0, fromSize: 25 }, message: /no consistency proof/ },
    },
    {
      name: "swapped output content types",
      bundle: edit(honest, (b) => {
        [b.outputs[0]!.contentType, b.outputs[1]!.contentType] = [b.outputs[1]!.contentType, b.outputs[0]!.contentType];
      }),
      keys,
      fails: { item: { kind: "output", index: 0, sha256: out[0]!.sha256, seq: 3 }, message: /listed as/ },
    },
    {
      name: "swapped output bodies",
      bundle: edit(honest, (b) => {
        [b.outputs[0]!.body, b.outputs[1]!.body] = [b.outputs[1]!.body, b.outputs[0]!.body];
      }),
      keys,
      fails: { item: { kind: "output", index: 0, sha256: out[0]!.sha256 }, message: /body hashes to/ },
    },
    {
      name: "referenced output left out",
      bundle: edit(honest, (b) => {
        b.outputs.splice(3, 1);
      }),
      keys,
      fails: { item: { kind: "entry", index: 8, seq: 9 }, message: /does not list/ },
    },
    {
      name: "output no entry references",
      bundle: edit(honest, (b) => {
        b.outputs.push({ sha256: "ab".repeat(32), contentType: "text/plain" });
      }),
      keys,
      fails: { item: { kind: "output", index: 20, sha256: "ab".repeat(32) }, message: /no included entry/ },
    },
    {
      name: "output listed twice",
      bundle: edit(honest, (b) => {
        b.outputs.push({ ...b.outputs[0]! });
      }),
      keys,
      fails: { item: { kind: "output", index: 20, sha256: out[0]!.sha256 }, message: /listed twice/ },
    },
    {
      name: "wrong key",
      bundle: honest,
      keys: [encodeOther()],
      fails: { item: { kind: "checkpoint" }, message: /not signed by a trusted key/ },
    },
    {
      name: "forged signature",
      bundle: edit(honest, (b) => {
        b.checkpoint = badSig;
      }),
      keys,
      fails: { item: { kind: "checkpoint" }, message: /does not verify/ },
    },
    {
      name: "checkpoint size edited",
      bundle: edit(honest, (b) => {
        b.checkpoint = b.checkpoint.replace("\n41\n", "\n40\n");
      }),
      keys,
      fails: { item: { kind: "checkpoint" }, message: /does not verify/ },
    },
    {
      name: "bundle claims another notebook",
      bundle: edit(honest, (b) => {
        b.notebookId = "nb-2";
      }),
      keys,
      fails: { item: { kind: "checkpoint" }, message: /not notebook nb-2's/ },
    },
    {
      name: "entry from another notebook",
      bundle: edit(honest, (b) => {
        b.entries[6]!.canonical = other.canonical[6]!;
      }),
      keys,
      fails: { item: { kind: "entry", index: 6, seq: 7 }, message: /for notebook nb-2/ },
    },
    {
      name: "two tamperings: the first is named",
      bundle: edit(honest, (b) => {
        b.entries[19]!.canonical = b.entries[19]!.canonical.replace('"ana"', '"bob"');
        b.outputs[0]!.body = "{}";
      }),
      keys,
      fails: { item: { kind: "entry", index: 19, seq: 20 }, message: /gives root/ },
    },
    {
      name: "not a bundle",
      bundle: edit(honest, (b) => {
        (b as { format: string }).format = "something-else";
      }),
      keys,
      fails: { item: { kind: "bundle" }, message: /format/ },
    },
  ];
}

function encodeOther(): string {
  const k = generateSigningKey(HOST);
  return `${k.name}+${k.keyId}+${Buffer.concat([Buffer.from([1]), k.publicKey]).toString("base64")}`;
}
