import { sign, verify } from "node:crypto";
import { fromBase64, toBase64 } from "./bytes.ts";
import { badInput } from "./errors.ts";
import { checkKeyName, parseVerifierKey, publicKeyObject, type SigningKey, type VerifierKey } from "./keys.ts";

/** One signature line of a note, not yet verified. `keyId` is 8 hex digits. */
export type NoteSignature = { readonly name: string; readonly keyId: string; readonly signature: Uint8Array };

/** A note split into its signed text (ending in "\n") and its signature lines. */
export type ParsedNote = { readonly text: string; readonly signatures: readonly NoteSignature[] };

/** A note whose signatures checked out: its text, and the trusted keys that signed it. */
export type OpenedNote = { readonly text: string; readonly signedBy: readonly VerifierKey[]; readonly unknown: number };

/** Notes are small (a checkpoint is ~150 bytes); the limits stop a hostile note from costing much. */
const MAX_NOTE_CHARS = 1 << 20;
const MAX_SIGNATURES = 100;
const SIGNATURE_PREFIX = "\u2014 "; // em dash, space

/**
 * Signs `text` (c2sp.org/signed-note): returns `text`, a blank line, then one line per key,
 * `— <name> <base64(4-byte key ID ‖ 64-byte Ed25519 signature of the UTF-8 text)>`. The text must
 * end in a newline and carry no control characters but newlines. Throws bad-input.
 */
export function signNote(text: string, keys: SigningKey | readonly SigningKey[]): string {
  checkNoteChars(text, "the note text");
  if (!text.endsWith("\n")) badInput("a note's text must end with a newline");
  const list = Array.isArray(keys) ? keys : [keys as SigningKey];
  if (list.length === 0) badInput("signing a note needs at least one key");
  const lines = list.map((k) => {
    const sig = sign(null, Buffer.from(text, "utf8"), k.privateKey);
    return `${SIGNATURE_PREFIX}${k.name} ${toBase64(Buffer.concat([Buffer.from(k.keyId, "hex"), sig]))}\n`;
  });
  return `${text}\n${lines.join("")}`;
}

/**
 * Splits a signed note (c2sp.org/signed-note) without checking signatures: the text is everything
 * up to and including the newline before the note's last blank line; every line after it must be
 * a well-formed signature line. Throws bad-input naming the first malformed part.
 */
export function parseNote(note: string): ParsedNote {
  checkNoteChars(note, "a signed note");
  if (!note.endsWith("\n")) badInput("a signed note ends with a newline");
  const split = note.lastIndexOf("\n\n");
  if (split < 0) badInput("a signed note has a blank line between its text and its signatures; this one has none");
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split("\n");
  if (lines.length > MAX_SIGNATURES) badInput(`a note may carry at most ${MAX_SIGNATURES} signatures`);
  const signatures = lines.map((line, i): NoteSignature => {
    const where = `signature line ${i + 1}`;
    if (!line.startsWith(SIGNATURE_PREFIX)) badInput(`${where} does not start with "— " (em dash, space)`);
    const rest = line.slice(SIGNATURE_PREFIX.length);
    const space = rest.indexOf(" ");
    if (space < 0) badInput(`${where} is not "— <key name> <base64 signature>"`);
    const name = rest.slice(0, space);
    checkKeyName(name, `the key name on ${where}`);
    const bytes = fromBase64(rest.slice(space + 1), `the signature on ${where}`);
    if (bytes.length < 5) badInput(`the signature on ${where} is too short to hold a key ID and a signature`);
    return { name, keyId: Buffer.from(bytes.subarray(0, 4)).toString("hex"), signature: bytes.slice(4) };
  });
  return { text, signatures };
}

/**
 * Parses a note and checks its signatures against the trusted `keys` (verifier key text or parsed
 * keys), as c2sp.org/signed-note asks: a signature whose (name, key ID) matches no trusted key is
 * ignored (counted in `unknown`); one that matches must verify, or the whole note is rejected; and
 * at least one must verify. Returns the text and the keys that signed it; throws bad-input.
 */
export function openNote(note: string, keys: readonly (VerifierKey | string)[]): OpenedNote {
  const trusted = keys.map((k) => (typeof k === "string" ? parseVerifierKey(k) : k));
  if (trusted.length === 0) badInput("no trusted key given: pass the log's verifier key");
  const { text, signatures } = parseNote(note);
  const data = Buffer.from(text, "utf8");
  const signedBy: VerifierKey[] = [];
  let unknown = 0;
  for (const s of signatures) {
    const key = trusted.find((k) => k.name === s.name && k.keyId === s.keyId);
    if (!key) {
      unknown++;
      continue;
    }
    if (s.signature.length !== 64 || !verify(null, data, publicKeyObject(key), s.signature)) {
      badInput(`the signature by ${s.name}+${s.keyId} does not verify: the note was changed or the signature forged`);
    }
    if (!signedBy.includes(key)) signedBy.push(key);
  }
  if (signedBy.length === 0) {
    const by = signatures.map((s) => `${s.name}+${s.keyId}`).join(", ");
    const want = trusted.map((k) => `${k.name}+${k.keyId}`).join(", ");
    badInput(`the note is not signed by a trusted key: it is signed by ${by}; trusted: ${want}`);
  }
  return { text, signedBy, unknown };
}

function checkNoteChars(s: string, what: string): void {
  if (typeof s !== "string") badInput(`${what} must be text`);
  if (s.length > MAX_NOTE_CHARS) badInput(`${what} is longer than ${MAX_NOTE_CHARS} characters`);
  if (!s.isWellFormed()) badInput(`${what} is not valid Unicode (a lone surrogate)`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it rejects
  const bad = /[\u0000-\u0009\u000b-\u001f]/.exec(s);
  if (bad) {
    const code = bad[0].charCodeAt(0).toString(16).padStart(4, "0");
    badInput(`${what} contains the control character U+${code}; only newlines are allowed`);
  }
}
