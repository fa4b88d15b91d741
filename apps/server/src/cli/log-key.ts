import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  consistencyProof,
  encodeVerifierKey,
  isDatabookError,
  openCheckpoint,
  toBase64,
  verifierKeyOf,
  verifyCheckpointConsistency,
} from "@databook/tlog";
import { DB_FILE } from "../db/open.ts";
import { postgresFromEnv } from "../db/storage-env.ts";
import { createCheckpointStore, notebookOfOrigin } from "../log/checkpoints.ts";
import { createSigningKeyFile, defaultKeyName, loadSigningKey, signingKeyPath } from "../log/signing-key.ts";
import { createLogStore } from "../log/store.ts";
import { leavesOf } from "../log/tree.ts";
import { type CliStorage, DEFAULT_DATA_DIR, describeError, openCliStorage, parseFlags } from "./common.ts";
import { trustedKeys } from "./keys.ts";

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * `databook log key`: prints the public key checkpoints are signed with, where the secret key is,
 * and the retired keys the database remembers; `--new FILE` writes a fresh key. Exit 0, 1 when
 * there is no key yet or FILE exists, 2 on a usage error.
 */
export async function runKey(argv: string[], usage: string): Promise<number> {
  const parsed = parseFlags({
    args: argv,
    options: { data: { type: "string" }, new: { type: "string" } },
    strict: true,
  });
  if ("error" in parsed) {
    console.error(`databook log key: ${parsed.error}\n${usage}`);
    return 2;
  }
  const { values } = parsed;
  if (values.new !== undefined) {
    try {
      const key = createSigningKeyFile(resolve(values.new), defaultKeyName(process.env));
      console.log(`public key: ${encodeVerifierKey(verifierKeyOf(key))}`);
      console.log(`secret key written to ${resolve(values.new)} (mode 0600); start the server with`);
      console.log(`  DATABOOK_SIGNING_KEY_FILE=${resolve(values.new)}`);
      console.log("and keep a copy of the file apart from the data folder's backups (docs/incident-log.md).");
      return 0;
    } catch (e) {
      console.error(`databook log key: ${describeError(e)}`);
      return 1;
    }
  }
  const dataDir = values.data ?? DEFAULT_DATA_DIR;
  const { file } = signingKeyPath(dataDir, process.env);
  if (!existsSync(file)) {
    console.error(
      `databook log key: no signing key at ${file} yet; 'databook serve' creates one there at first start (or make one with 'databook log key --new FILE' and set DATABOOK_SIGNING_KEY_FILE)`,
    );
    return 1;
  }
  let current: ReturnType<typeof loadSigningKey>;
  try {
    current = loadSigningKey(dataDir, process.env);
  } catch (e) {
    console.error(`databook log key: ${describeError(e)}`);
    return 1;
  }
  console.log(`public key: ${encodeVerifierKey(verifierKeyOf(current.key))}`);
  console.log(
    `secret key: ${file}${current.insideDataDir ? " (inside the data folder: whoever holds the folder or a backup of it can sign; set DATABOOK_SIGNING_KEY_FILE to keep it elsewhere)" : ""}`,
  );
  if (current.warning) console.log(`warning: ${current.warning}`);
  // no database yet (a new SQLite folder): no retired keys to list
  if (!postgresFromEnv(process.env) && !existsSync(join(resolve(dataDir), DB_FILE))) return 0;
  let storage: CliStorage;
  try {
    storage = await openCliStorage(dataDir, "read-only");
  } catch (e) {
    console.error(`databook log key: the retired keys cannot be read: ${describeError(e)}`);
    return 1;
  }
  try {
    const retired = (await createCheckpointStore(storage.sql).keys()).filter((k) => k.keyId !== current.key.keyId);
    if (retired.length) {
      console.log("retired keys (as this database recorded them: trust one only if you kept it yourself):");
      for (const k of retired) console.log(`  ${k.verifierKey}  first used ${iso(k.firstUsedMs)}`);
    } else console.log("retired keys: none");
  } finally {
    await storage.close();
  }
  return 0;
}

/**
 * `databook log consistency --from CHECKPOINT [--to CHECKPOINT]`: proves from the database's
 * entries that the log at `--to` (default: the notebook's latest checkpoint by a trusted key)
 * extends the checkpoint `--from`, and prints the RFC 9162 proof. Exit 0 when it does, 1 when it
 * does not, 2 on a usage error.
 */
export async function runConsistency(argv: string[], usage: string): Promise<number> {
  const parsed = parseFlags({
    args: argv,
    options: {
      from: { type: "string" },
      to: { type: "string" },
      key: { type: "string", multiple: true },
      data: { type: "string" },
    },
    strict: true,
  });
  if ("error" in parsed || !parsed.values.from) {
    console.error(
      `databook log consistency: ${"error" in parsed ? parsed.error : "--from CHECKPOINT is required (a file holding a signed checkpoint note, e.g. saved from the checkpoint API)"}\n${usage}`,
    );
    return 2;
  }
  const { values } = parsed;
  const dataDir = values.data ?? DEFAULT_DATA_DIR;
  let from: string;
  let to: string | undefined;
  let trust: ReturnType<typeof trustedKeys>;
  try {
    trust = trustedKeys(values.key, dataDir);
    from = readNote(values.from as string, "--from");
    to = values.to === undefined ? undefined : readNote(values.to, "--to");
  } catch (e) {
    console.error(`databook log consistency: ${describeError(e)}`);
    return 2;
  }
  let older: ReturnType<typeof openCheckpoint>;
  try {
    older = openCheckpoint(from, trust.keys);
  } catch (e) {
    if (!isDatabookError(e)) throw e;
    console.error(`log consistency failed: the --from checkpoint: ${e.message}`);
    return 1;
  }
  const notebookId = notebookOfOrigin(older.origin) ?? "";
  let storage: CliStorage;
  try {
    storage = await openCliStorage(dataDir, "read-only");
  } catch (e) {
    console.error(`databook log consistency: ${describeError(e)}`);
    return (e as { kind?: string }).kind === "upstream" ? 1 : 2;
  }
  const sql = storage.sql;
  try {
    if (to === undefined) {
      const latest = (await createCheckpointStore(sql).all(notebookId))
        .filter((c) => trust.keys.some((k) => k.keyId === c.keyId))
        .at(-1);
      if (!latest) {
        console.error(
          `log consistency failed: notebook ${notebookId} has no stored checkpoint signed with the trusted key; its checkpoints were removed, or pass --to`,
        );
        return 1;
      }
      to = latest.note;
    }
    const leaves = leavesOf(await createLogStore(sql).entries(notebookId));
    let newer: ReturnType<typeof openCheckpoint>;
    try {
      newer = openCheckpoint(to, trust.keys);
    } catch (e) {
      if (!isDatabookError(e)) throw e;
      console.error(`log consistency failed: the --to checkpoint: ${e.message}`);
      return 1;
    }
    if (newer.size > leaves.length) {
      console.error(
        `log consistency failed: the --to checkpoint covers ${newer.size} entries but notebook ${notebookId}'s log holds ${leaves.length}: entries seq ${leaves.length + 1}..${newer.size} were removed`,
      );
      return 1;
    }
    if (older.size > newer.size) {
      console.error(
        `log consistency failed: your checkpoint (size ${older.size}) is larger than the newer one (size ${newer.size}): the log was cut to ${newer.size} entries since, or the two are swapped`,
      );
      return 1;
    }
    const proof = consistencyProof(older.size, newer.size, leaves);
    try {
      verifyCheckpointConsistency(from, to, proof, trust.keys);
    } catch (e) {
      if (!isDatabookError(e)) throw e;
      console.error(
        `log consistency failed: notebook ${notebookId}: ${e.message} (the database's entries do not prove that the log at size ${newer.size} extends your checkpoint of size ${older.size})`,
      );
      return 1;
    }
    console.log(
      `ok: the log ${newer.origin} at size ${newer.size} (root ${toBase64(newer.rootHash)}) extends your checkpoint of size ${older.size} (root ${toBase64(older.rootHash)})`,
    );
    console.log(`consistency proof (RFC 9162 §2.1.4, base64, ${proof.length} hashes):`);
    for (const h of proof) console.log(`  ${toBase64(h)}`);
    console.log(`newer checkpoint:\n${to}`);
    return 0;
  } finally {
    await storage.close();
  }
}

/** A signed note from a file (`-`: standard input). Throws a usage error naming the flag. */
function readNote(file: string, flag: string): string {
  try {
    const text = readFileSync(file === "-" ? 0 : file, "utf8");
    return text.endsWith("\n") ? text : `${text}\n`;
  } catch (e) {
    throw { kind: "bad-input", message: `${flag} ${file} cannot be read: ${(e as Error).message}` };
  }
}
