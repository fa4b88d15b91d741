import { badInput } from "./errors.ts";

/** True when two byte strings are equal. (Hashes and signatures here are public, so no constant time.) */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/** Standard base64 (RFC 4648 §4, with padding). */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes standard padded base64 strictly: no whitespace, no URL alphabet, canonical padding bits
 * (re-encoding gives back the same text), so one value has exactly one text form. `what` names the
 * value in the error. Throws bad-input.
 */
export function fromBase64(text: string, what: string, expectBytes?: number): Uint8Array {
  if (typeof text !== "string" || !BASE64.test(text)) badInput(`${what} is not standard base64`);
  const bytes = Buffer.from(text, "base64");
  if (bytes.toString("base64") !== text) badInput(`${what} is not canonical base64 (stray bits in its padding)`);
  if (expectBytes !== undefined && bytes.length !== expectBytes) {
    badInput(`${what} decodes to ${bytes.length} bytes, expected ${expectBytes}`);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** The number of 1 bits of a non-negative safe integer (works past 2^32, unlike bit operators). */
export function popCount(n: number): number {
  let count = 0;
  for (let x = n; x > 0; x = Math.floor(x / 2)) count += x % 2;
  return count;
}
