import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * A new unguessable secret: `bytes` random bytes (default 32 = 256 bits) as base64url, after an
 * optional recognisable `prefix` (e.g. `dbk_` for API tokens, so secret scanners find leaked ones).
 */
export function newSecret(prefix = "", bytes = 32): string {
  return prefix + randomBytes(bytes).toString("base64url");
}

/**
 * How a secret is stored: lowercase hex SHA-256 of its UTF-8 bytes. Secrets here are random and at
 * least 128 bits, so a fast hash is enough (a slow password hash would cost every request).
 */
export function secretHash(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** Compares two strings in time that does not depend on where they differ. */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}
