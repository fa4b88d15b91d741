import { randomBytes } from "node:crypto";

/**
 * A random URL-safe id: `bytes` random bytes as base64url (12 bytes → 16 characters, 96 bits).
 * Never starts with `-` or `_`, so an id is never mistaken for a command-line flag
 * (`databook export <id>`).
 */
export function randomId(bytes = 12): string {
  for (;;) {
    const id = randomBytes(bytes).toString("base64url");
    if (/^[A-Za-z0-9]/.test(id)) return id;
  }
}

/** An unguessable role token (128 bits, base64url). */
export const newToken = (): string => randomId(16);
