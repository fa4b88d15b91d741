import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { type ParseArgsConfig, parseArgs } from "node:util";
import Database from "better-sqlite3";
import { DB_FILE, openDatabase } from "../db/open.ts";

/** Default data directory when `--data` is not given: `./data` under the working directory. */
export const DEFAULT_DATA_DIR = "data";

/** A user mistake on the command line: printed as `databook <cmd>: message`, exit code 2. */
export type UsageError = { kind: "bad-input"; message: string };

/**
 * Opens an existing notebook database read-only (for `log verify`, `export`), without migrating.
 * Throws a {@link UsageError} naming the path and `--data` when there is no database there.
 */
export function openExisting(dataDir: string): Database.Database {
  const file = join(resolve(dataDir), DB_FILE);
  if (!existsSync(file)) {
    throw {
      kind: "bad-input",
      message: `no Databook database at ${file}; pass --data DIR (the folder given to 'databook serve --data')`,
    } satisfies UsageError;
  }
  return new Database(file, { readonly: true, fileMustExist: true });
}

/** Prints a thrown value as one line: a `{ kind, message }` as its message, anything else as text. */
export function describeError(e: unknown): string {
  if (e && typeof e === "object" && "message" in e) return String((e as { message: unknown }).message);
  return String(e);
}

/**
 * `node:util` parseArgs that returns `{ error }` (the message) instead of throwing on an unknown
 * or malformed flag, so each command can print its usage.
 */
export function parseFlags<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> | { error: string } {
  try {
    return parseArgs(config);
  } catch (e) {
    return { error: describeError(e) };
  }
}

/**
 * Checks a `--plugins` value: it must be a folder that holds plugin folders. Returns a message for
 * the user (what is wrong and what to pass instead), or undefined when the folder looks right.
 */
export function pluginsDirProblem(dir: string): string | undefined {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    return `--plugins ${dir} is not a folder; give the folder that holds the plugin folders (the repository's plugins/)`;
  }
  if (existsSync(join(dir, "config.toml"))) {
    return `--plugins ${dir} is one plugin's own folder; give the folder that holds it: --plugins ${resolve(dir, "..")}`;
  }
  return undefined;
}

/**
 * Runs a subcommand that writes the data folder (`databook users …`, `tokens …`): opens it
 * (creating and migrating it when needed), runs `fn`, and prints what `fn` throws as one line —
 * `databook <command> <sub>: message` — with the usage after a `{ kind: "usage" }` mistake.
 * Returns `fn`'s exit code, 1 when the folder cannot be opened or `fn` failed, 2 for a usage
 * mistake. Closes the database either way.
 */
export async function withDataFolder(
  command: string,
  sub: string,
  usage: string,
  dataDir: string | undefined,
  fn: (db: Database.Database) => Promise<number>,
): Promise<number> {
  let db: Database.Database;
  try {
    db = openDatabase({ dataDir: dataDir ?? DEFAULT_DATA_DIR });
  } catch (e) {
    console.error(`databook ${command}: cannot open the data folder: ${describeError(e)}`);
    return 1;
  }
  try {
    return await fn(db);
  } catch (e) {
    const usageMistake = (e as { kind?: string }).kind === "usage";
    console.error(`databook ${command} ${sub}: ${describeError(e)}${usageMistake ? `\n${usage}` : ""}`);
    return usageMistake ? 2 : 1;
  } finally {
    db.close();
  }
}
