import { randomBytes } from "node:crypto";

/** A random URL-safe id: `bytes` random bytes as base64url (16 bytes → 22 characters, 128 bits). */
export function randomId(bytes = 12): string {
  return randomBytes(bytes).toString("base64url");
}

/** An unguessable role token (128 bits, base64url). */
export const newToken = (): string => randomId(16);
