import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { encodeSigningKey, generateSigningKey, parseSigningKey, type SigningKey } from "@databook/tlog";

/**
 * The Ed25519 key the server signs checkpoints with (docs/incident-log.md, "The signing key"):
 * the file `DATABOOK_SIGNING_KEY_FILE` names, or `<data folder>/signing-key`, created (mode 0600)
 * at first start. The file holds one line, `PRIVATE+KEY+<name>+<key ID>+<base64>` (the text form
 * of Go's golang.org/x/mod/sumdb/note, written by @databook/tlog).
 */

/** File name of the signing key inside the data folder (when DATABOOK_SIGNING_KEY_FILE is not set). */
export const SIGNING_KEY_FILE = "signing-key";

/** A loaded signing key and where it came from. */
export type LoadedSigningKey = {
  key: SigningKey;
  file: string;
  /** The key lies inside the data folder: whoever has the folder (or a backup of it) can sign. */
  insideDataDir: boolean;
  /** Created just now (first start). */
  created: boolean;
  /** Said once at start: the file can be read by other users. */
  warning?: string;
};

/** Where the key is looked for: `DATABOOK_SIGNING_KEY_FILE`, else `<dataDir>/signing-key`. */
export function signingKeyPath(dataDir: string, env: Record<string, string | undefined>) {
  const fromEnv = env.DATABOOK_SIGNING_KEY_FILE?.trim();
  return { file: resolve(fromEnv || join(dataDir, SIGNING_KEY_FILE)), fromEnv: !!fromEnv };
}

/** The key name a new key gets: the public host (`DATABOOK_PUBLIC_URL`), else `databook`. */
export function defaultKeyName(env: Record<string, string | undefined>): string {
  try {
    return env.DATABOOK_PUBLIC_URL ? new URL(env.DATABOOK_PUBLIC_URL).host || "databook" : "databook";
  } catch {
    return "databook";
  }
}

/**
 * Reads the signing key from `file`. Throws `{ kind: "bad-input" }` naming the file when it is
 * missing, unreadable or not a signing key.
 */
export function readSigningKey(file: string): SigningKey {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw { kind: "bad-input", message: `cannot read the signing key ${file}: ${(e as Error).message}` };
  }
  try {
    return parseSigningKey(text.trim());
  } catch (e) {
    throw {
      kind: "bad-input",
      message: `${file} is not a Databook signing key (${(e as { message: string }).message}); restore it from your backup, or create a new one with 'databook log key --new FILE'`,
    };
  }
}

/**
 * Writes a fresh key named `name` to `file` with mode 0600, refusing to overwrite one (flag `wx`).
 * Returns it. Throws `{ kind: "bad-input" }` when the file exists or cannot be written.
 */
export function createSigningKeyFile(file: string, name: string): SigningKey {
  const key = generateSigningKey(name);
  try {
    writeFileSync(file, `${encodeSigningKey(key)}\n`, { mode: 0o600, flag: "wx" });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw {
      kind: "bad-input",
      message:
        code === "EEXIST"
          ? `${file} already exists; a signing key is never overwritten (move it away first if you mean to retire it)`
          : `cannot write the signing key ${file}: ${(e as Error).message}`,
    };
  }
  return key;
}

/**
 * The server's signing key: read from `DATABOOK_SIGNING_KEY_FILE` (which must exist: a mistyped
 * path must not silently start a new key), else from `<dataDir>/signing-key`, created there on
 * first start. Throws `{ kind: "bad-input" }` saying what to do when it cannot be read.
 */
export function loadSigningKey(dataDir: string, env: Record<string, string | undefined>): LoadedSigningKey {
  const { file, fromEnv } = signingKeyPath(dataDir, env);
  let created = false;
  if (!existsSync(file)) {
    if (fromEnv)
      throw {
        kind: "bad-input",
        message: `DATABOOK_SIGNING_KEY_FILE=${file} does not exist; create a key there with 'databook log key --new ${file}' (or unset the variable to keep the key in the data folder)`,
      };
    try {
      createSigningKeyFile(file, defaultKeyName(env));
      created = true;
    } catch (e) {
      if (!existsSync(file)) throw e; // another process created it first: read theirs
    }
  }
  const key = readSigningKey(file);
  const rel = relative(resolve(dataDir), file);
  const insideDataDir = !rel.startsWith("..") && !rel.startsWith("/");
  const mode = statSync(file).mode & 0o777;
  const warning =
    mode & 0o077
      ? `the signing key ${file} can be read by other users (mode ${mode.toString(8).padStart(4, "0")}); chmod 600 ${file}`
      : undefined;
  return { key, file, insideDataDir, created, ...(warning ? { warning } : {}) };
}

/** The folder a database file lies in (the data folder), for a key next to it. */
export function dataDirOf(dbFile: string): string {
  return dirname(resolve(dbFile));
}
