import { fromBase64, toBase64 } from "./bytes.ts";
import { badInput } from "./errors.ts";
import { HASH_BYTES } from "./hash.ts";
import { checkKeyName, type SigningKey, type VerifierKey } from "./keys.ts";
import { openNote, signNote } from "./note.ts";
import { verifyConsistency } from "./proof.ts";
import { checkCount } from "./tree.ts";

/**
 * A tree head as c2sp.org/tlog-checkpoint writes it: the log's `origin` (Databook:
 * `<public host>/n/<notebook id>`), the tree `size` (leaves), its RFC 6962 `rootHash` (32 bytes),
 * and opaque `extensions` lines (usually none).
 */
export type Checkpoint = {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  readonly extensions: readonly string[];
};

/** A checkpoint read from a note whose signature checked out, with the trusted keys that signed it. */
export type OpenedCheckpoint = Checkpoint & { readonly signedBy: readonly VerifierKey[] };

/**
 * The checkpoint's note text: origin, decimal size, base64 root hash, then each extension line,
 * every line ending in "\n". Throws bad-input for an origin with spaces or "+", a size that is not
 * a whole number, a root that is not 32 bytes or an empty/multi-line extension.
 */
export function formatCheckpoint(c: Checkpoint): string {
  checkKeyName(c.origin, "a checkpoint origin");
  checkCount(c.size, "a checkpoint's tree size");
  if (!(c.rootHash instanceof Uint8Array) || c.rootHash.length !== HASH_BYTES) {
    badInput(`a checkpoint's root hash is ${HASH_BYTES} bytes`);
  }
  for (const e of c.extensions) {
    if (e === "" || e.includes("\n")) badInput("a checkpoint extension is one non-empty line");
  }
  return [c.origin, String(c.size), toBase64(c.rootHash), ...c.extensions].map((l) => `${l}\n`).join("");
}

/**
 * Parses checkpoint note text strictly: at least three lines, each ending in "\n"; an origin as
 * {@link formatCheckpoint} allows; the size in canonical decimal (no sign, no leading zeros, at
 * most 2^53 − 1); the root hash as canonical base64 of exactly 32 bytes; non-empty extension
 * lines. Does not check signatures (see {@link openCheckpoint}). Throws bad-input naming the line.
 */
export function parseCheckpoint(text: string): Checkpoint {
  if (typeof text !== "string" || !text.endsWith("\n")) badInput("a checkpoint's text ends with a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) badInput("a checkpoint has three lines: origin, tree size, root hash");
  const [origin, size, root, ...extensions] = lines as [string, string, string, ...string[]];
  checkKeyName(origin, "the checkpoint's origin (line 1)");
  if (!/^(0|[1-9][0-9]*)$/.test(size) || !Number.isSafeInteger(Number(size))) {
    badInput(
      `the checkpoint's tree size (line 2) must be a decimal number without leading zeros, got ${JSON.stringify(size)}`,
    );
  }
  const rootHash = fromBase64(root, "the checkpoint's root hash (line 3)", HASH_BYTES);
  extensions.forEach((e, i) => {
    if (e === "") badInput(`the checkpoint's line ${i + 4} is empty (extension lines must not be)`);
  });
  return { origin, size: Number(size), rootHash, extensions };
}

/** Signs a checkpoint: {@link formatCheckpoint} then {@link signNote}. Returns the note text. */
export function signCheckpoint(c: Checkpoint, keys: SigningKey | readonly SigningKey[]): string {
  return signNote(formatCheckpoint(c), keys);
}

/**
 * Opens a checkpoint note: its signatures must check out against `keys` (see `openNote`) and its
 * text must parse; with `origin`, the checkpoint must name that log. Throws bad-input.
 */
export function openCheckpoint(
  note: string,
  keys: readonly (VerifierKey | string)[],
  origin?: string,
): OpenedCheckpoint {
  const opened = openNote(note, keys);
  const c = parseCheckpoint(opened.text);
  if (origin !== undefined && c.origin !== origin) {
    badInput(`the checkpoint is for log ${c.origin}, not ${origin}`);
  }
  return { ...c, signedBy: opened.signedBy };
}

/**
 * Checks that checkpoint note `newer` extends checkpoint note `older` (both signed by one of
 * `keys`, same origin, older size ≤ newer size, and the RFC 9162 consistency `proof` between them
 * holds). This is what catches a log that was cut off or rewritten after `older` was taken.
 * Returns both checkpoints; throws bad-input saying what does not hold.
 */
export function verifyCheckpointConsistency(
  older: string,
  newer: string,
  proof: readonly Uint8Array[],
  keys: readonly (VerifierKey | string)[],
): { older: OpenedCheckpoint; newer: OpenedCheckpoint } {
  const a = openCheckpoint(older, keys);
  const b = openCheckpoint(newer, keys, a.origin);
  if (a.size > b.size) {
    badInput(
      `the older checkpoint (size ${a.size}) is larger than the newer one (size ${b.size}): the log shrank or they are swapped`,
    );
  }
  verifyConsistency(a.size, b.size, a.rootHash, b.rootHash, proof);
  return { older: a, newer: b };
}
