import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { fromBase64, toBase64, toHex } from "./bytes.ts";
import { badInput } from "./errors.ts";

/** c2sp.org/signed-note signature type byte for Ed25519. */
const ED25519 = 0x01;
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_ED25519_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const PRIVATE_PREFIX = "PRIVATE+KEY+";

/**
 * A public key that checks note signatures (c2sp.org/signed-note "verifier key"). `keyId` is the
 * 8-hex-digit key ID, `publicKey` the 32-byte Ed25519 key (RFC 8032).
 */
export type VerifierKey = { readonly name: string; readonly keyId: string; readonly publicKey: Uint8Array };

/**
 * A key that signs notes: the verifier half plus the node:crypto private key. Never serialise it
 * with JSON; {@link encodeSigningKey} writes the secret form for a 0600 file.
 */
export type SigningKey = VerifierKey & { readonly privateKey: KeyObject };

/**
 * Throws unless `name` is a valid c2sp.org/signed-note key name (or checkpoint origin): non-empty,
 * no Unicode white space, no `+`, no control characters. `what` names it in the message.
 */
export function checkKeyName(name: string, what = "a key name"): void {
  if (typeof name !== "string" || name === "") badInput(`${what} must not be empty`);
  if (/[\p{White_Space}+\p{Cc}]/u.test(name) || !name.isWellFormed()) {
    badInput(`${what} must not contain spaces, "+" or control characters: ${JSON.stringify(name)}`);
  }
}

/** c2sp.org/signed-note Ed25519 key ID: hex of the first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ publicKey). */
export function keyIdOf(name: string, publicKey: Uint8Array): string {
  const h = createHash("sha256")
    .update(name, "utf8")
    .update(new Uint8Array([0x0a, ED25519]))
    .update(publicKey);
  return toHex(h.digest().subarray(0, 4));
}

/** A fresh Ed25519 signing key named `name` (node:crypto). Throws bad-input for a bad name. */
export function generateSigningKey(name: string): SigningKey {
  checkKeyName(name);
  const { privateKey } = generateKeyPairSync("ed25519");
  return signingKeyFromSeed(name, seedOf(privateKey));
}

/**
 * The signing key whose RFC 8032 32-byte private seed is `seed` (deterministic: the same seed
 * always gives the same key and signatures).
 */
export function signingKeyFromSeed(name: string, seed: Uint8Array): SigningKey {
  checkKeyName(name);
  if (seed.length !== 32) badInput(`an Ed25519 private seed is 32 bytes, got ${seed.length}`);
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: "der",
    type: "pkcs8",
  });
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  const publicKey = Uint8Array.from(spki.subarray(SPKI_ED25519_PREFIX.length));
  return { name, keyId: keyIdOf(name, publicKey), publicKey, privateKey };
}

/** The node:crypto public key object of a verifier key (for `crypto.verify`). */
export function publicKeyObject(key: VerifierKey): KeyObject {
  if (key.publicKey.length !== 32) badInput(`verifier key ${key.name}+${key.keyId} is not a 32-byte Ed25519 key`);
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, key.publicKey]), format: "der", type: "spki" });
}

/** The public half of a signing key. */
export function verifierKeyOf(key: SigningKey): VerifierKey {
  return { name: key.name, keyId: key.keyId, publicKey: key.publicKey };
}

/** c2sp.org/signed-note verifier key text: `<name>+<key ID hex>+<base64(0x01 ‖ publicKey)>`. */
export function encodeVerifierKey(key: VerifierKey): string {
  return `${key.name}+${key.keyId}+${toBase64(Buffer.concat([Buffer.from([ED25519]), key.publicKey]))}`;
}

/**
 * Parses verifier key text (see {@link encodeVerifierKey}). Throws bad-input when a part is
 * missing or malformed, the type is not Ed25519, or the key ID does not match name and key.
 */
export function parseVerifierKey(text: string): VerifierKey {
  const { name, keyId, material } = splitKeyText(text, "verifier key");
  const key = { name, keyId, publicKey: material };
  if (keyIdOf(name, material) !== keyId) {
    badInput(`verifier key ${name}+${keyId}: the key ID does not match the name and public key`);
  }
  return key;
}

/**
 * The secret text of a signing key, in the form Go's golang.org/x/mod/sumdb/note uses:
 * `PRIVATE+KEY+<name>+<key ID hex>+<base64(0x01 ‖ 32-byte seed)>`. Whoever has it can sign.
 */
export function encodeSigningKey(key: SigningKey): string {
  const seed = seedOf(key.privateKey);
  return `${PRIVATE_PREFIX}${key.name}+${key.keyId}+${toBase64(Buffer.concat([Buffer.from([ED25519]), seed]))}`;
}

/** Parses {@link encodeSigningKey}'s text. Throws bad-input when malformed or when the key ID does not match. */
export function parseSigningKey(text: string): SigningKey {
  if (typeof text !== "string" || !text.startsWith(PRIVATE_PREFIX)) {
    badInput(`a signing key starts with "${PRIVATE_PREFIX}"`);
  }
  const { name, keyId, material } = splitKeyText(text.slice(PRIVATE_PREFIX.length).trimEnd(), "signing key");
  const key = signingKeyFromSeed(name, material);
  if (key.keyId !== keyId) badInput(`signing key ${name}+${keyId}: the key ID does not match the name and key`);
  return key;
}

/** Splits `<name>+<8 hex>+<base64(0x01 ‖ 32 bytes)>`; the base64 part may itself contain "+". */
function splitKeyText(text: string, what: string): { name: string; keyId: string; material: Uint8Array } {
  if (typeof text !== "string") badInput(`a ${what} is text`);
  const first = text.indexOf("+");
  const second = first < 0 ? -1 : text.indexOf("+", first + 1);
  if (second < 0) badInput(`a ${what} has three parts, <name>+<key ID>+<key>: ${JSON.stringify(text.slice(0, 80))}`);
  const name = text.slice(0, first);
  const keyId = text.slice(first + 1, second);
  checkKeyName(name, `the name of a ${what}`);
  if (!/^[0-9a-f]{8}$/.test(keyId)) badInput(`the key ID of ${what} ${name} must be 8 lowercase hex digits`);
  const bytes = fromBase64(text.slice(second + 1), `the key of ${what} ${name}+${keyId}`, 33);
  if (bytes[0] !== ED25519) badInput(`${what} ${name}+${keyId} is not an Ed25519 key (type byte ${bytes[0]})`);
  return { name, keyId, material: bytes.slice(1) };
}

function seedOf(privateKey: KeyObject): Uint8Array {
  const der = Buffer.from(privateKey.export({ format: "der", type: "pkcs8" }));
  if (der.length !== PKCS8_ED25519_PREFIX.length + 32 || !der.subarray(0, 16).equals(PKCS8_ED25519_PREFIX)) {
    badInput("the private key is not an Ed25519 key");
  }
  return der.subarray(PKCS8_ED25519_PREFIX.length);
}
