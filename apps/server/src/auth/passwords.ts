import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from "node:crypto";

/**
 * scrypt parameters (RFC 7914): N = 2^15, r = 8, p = 1 needs 32 MiB and ~50–100 ms per hash on
 * this class of machine — memory-hard, and slow enough to make guessing expensive.
 */
const PARAMS = { N: 32768, r: 8, p: 1 } as const;
const KEY_BYTES = 32;
const SALT_BYTES = 16;

/** Shortest password accepted (characters). */
export const MIN_PASSWORD_CHARS = 10;

function derive(password: string, salt: Buffer, p: { N: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { N: p.N, r: p.r, p: p.p, maxmem: 256 * p.N * p.r };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize("NFC"), salt, KEY_BYTES, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/**
 * Hashes a password for storage: `scrypt$N$r$p$<salt base64>$<key base64>`. Runs on libuv's
 * thread pool, so the event loop keeps serving while it works.
 */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, PARAMS);
  return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

/** A stored hash of no password: checked against when the account does not exist, so the answer takes as long. */
const DUMMY = `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${Buffer.alloc(SALT_BYTES).toString("base64")}$${Buffer.alloc(KEY_BYTES).toString("base64")}`;

/**
 * True when `password` matches `stored` (a {@link hashPassword} string). With `stored` undefined
 * (no such account, or no local password) it still does the work of one check and answers false,
 * so timing does not tell an unknown user from a wrong password.
 */
export async function verifyPassword(password: string, stored: string | null | undefined): Promise<boolean> {
  const parts = (stored ?? DUMMY).split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [, n, r, p, salt, key] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(key, "base64");
  const got = await derive(password, Buffer.from(salt, "base64"), { N: Number(n), r: Number(r), p: Number(p) });
  return stored !== undefined && stored !== null && got.length === expected.length && timingSafeEqual(got, expected);
}

/**
 * Checks a new password; returns what is wrong with it (for the user), or undefined when it is fine.
 * Only length is required (NIST SP 800-63B): composition rules make passwords worse, not better.
 */
export function passwordProblem(password: unknown): string | undefined {
  if (typeof password !== "string") return "password must be a string";
  if ([...password].length < MIN_PASSWORD_CHARS)
    return `the password is too short: use at least ${MIN_PASSWORD_CHARS} characters (a few words work well)`;
  if (password.length > 1024) return "the password is over 1024 characters";
  return undefined;
}
