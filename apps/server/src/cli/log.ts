import { verifyLog } from "../log/verify.ts";
import { verifyTrees } from "../log/verify-tree.ts";
import { type CliStorage, DEFAULT_DATA_DIR, describeError, openCliStorage, parseFlags } from "./common.ts";
import { trustedKeys } from "./keys.ts";
import { runConsistency, runKey } from "./log-key.ts";
import { readCheckpointFiles, verifyExportCommand } from "./log-verify-export.ts";

export const usage = `  log verify [--notebook ID] [--head HASH] [--key PUBKEY]… [--checkpoint FILE]… [--data DIR]
                     check the incident log (in the data folder, or PostgreSQL at
                     DATABOOK_DATABASE_URL): the hash chain, the Merkle tree, and that every entry is
                     covered by a checkpoint signed with the key (--key, default the server's own);
                     --checkpoint: checkpoints you kept must still match; exit 0 ok, 1 naming the first
                     bad entry
  log verify --export FILE --key PUBKEY [--proof FILE] [--checkpoint FILE]…
                     check an exported postmortem with no database: its proof bundle (embedded in
                     HTML; FILE.proof.json beside Markdown) and that the file shows what it proves
  log key [--data DIR] | log key --new FILE
                     print the public key checkpoints are signed with and the retired ones; --new
                     writes a fresh signing key to FILE (for DATABOOK_SIGNING_KEY_FILE)
  log consistency --from CHECKPOINT [--to CHECKPOINT] [--key PUBKEY]… [--data DIR]
                     prove from the database that the log at --to (default: its latest checkpoint)
                     extends the checkpoint you kept (--from: a file holding the signed note)`;

/** `databook log …`: exit 0 (holds), 1 (does not), 2 (usage error). */
export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "key") return runKey(rest, usage);
  if (sub === "consistency") return runConsistency(rest, usage);
  if (sub !== "verify") {
    console.error(`databook log: unknown subcommand '${sub ?? ""}'; usage:\n${usage}`);
    return 2;
  }
  const parsed = parseFlags({
    args: rest,
    options: {
      notebook: { type: "string" },
      head: { type: "string" },
      data: { type: "string" },
      key: { type: "string", multiple: true },
      checkpoint: { type: "string", multiple: true },
      export: { type: "string" },
      proof: { type: "string" },
    },
    strict: true,
  });
  if ("error" in parsed) {
    console.error(`databook log verify: ${parsed.error}\n${usage}`);
    return 2;
  }
  const { values } = parsed;
  if (values.export !== undefined) return verifyExportCommand(values);
  if (values.head && !/^[0-9a-f]{64}$/.test(values.head)) {
    console.error(
      "databook log verify: --head must be a 64-character lowercase hex SHA-256 (as shown by the timeline and the export)",
    );
    return 2;
  }
  if (values.head && !values.notebook) {
    console.error("databook log verify: --head needs --notebook ID (a head hash belongs to one notebook)");
    return 2;
  }
  const dataDir = values.data ?? DEFAULT_DATA_DIR;
  let storage: CliStorage;
  let trust: ReturnType<typeof trustedKeys>;
  let kept: string[];
  try {
    storage = await openCliStorage(dataDir, "read-only");
  } catch (e) {
    console.error(`databook log verify: ${describeError(e)}`);
    return (e as { kind?: string }).kind === "upstream" ? 1 : 2;
  }
  try {
    trust = trustedKeys(values.key, dataDir);
    kept = readCheckpointFiles(values.checkpoint ?? []);
  } catch (e) {
    await storage.close();
    console.error(`databook log verify: ${describeError(e)}`);
    return 2;
  }
  console.error(`databook log verify: using ${storage.where}`);
  try {
    const r = await verifyLog(storage.sql, { notebookId: values.notebook, head: values.head });
    if (r.ok && values.notebook && r.entries === 0) {
      // an id with no entries is a typo or a notebook from another database, not a clean chain
      console.error(
        `log verify failed: no incident-log entries for notebook ${values.notebook} in ${storage.where}; check the id (the part after /n/ in its link), --data and DATABOOK_DATABASE_URL`,
      );
      return 1;
    }
    if (!r.ok) {
      console.error(
        `log verify failed: notebook ${r.notebookId}${r.seq === null ? "" : `, entry seq ${r.seq}`}: ${r.reason} (${r.entries} entries checked before it)`,
      );
      return 1;
    }
    const t = await verifyTrees(storage.sql, { notebookId: values.notebook, keys: trust.keys, olderCheckpoints: kept });
    if (!t.ok) {
      const where = t.notebookId ? `notebook ${t.notebookId}${t.seq === null ? "" : `, entry seq ${t.seq}`}: ` : "";
      console.error(`log verify failed: ${where}${t.reason}`);
      return 1;
    }
    const where = values.notebook ? `notebook ${values.notebook}` : `${r.notebooks} notebook(s)`;
    const head = r.head
      ? `; head found at seq ${r.head.seq}${r.head.later ? ` (${r.head.later} later entries)` : ""}`
      : "";
    const keptNote = kept.length ? `; your ${t.kept} checkpoint(s) still match` : "";
    const untrusted = t.untrusted ? ` (${t.untrusted} signed by other keys not checked)` : "";
    console.log(
      `ok: ${r.entries} entries in ${where}, chain intact, Merkle tree matches, every entry covered by ${t.checkpoints} signed checkpoint(s)${untrusted}${keptNote}${head}`,
    );
    console.log(`  ${trust.note}`);
    return 0;
  } catch (e) {
    console.error(`databook log verify: ${describeError(e)}`);
    return 1;
  } finally {
    await storage.close();
  }
}
