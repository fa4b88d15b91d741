import type Database from "better-sqlite3";
import { verifyLog } from "../log/verify.ts";
import { DEFAULT_DATA_DIR, describeError, openExisting, parseFlags } from "./common.ts";

export const usage = `  log verify [--notebook ID] [--head HASH] [--data DIR]
                     check the incident log's hash chain; exit 0 with the count when it holds,
                     1 naming the first bad entry (--head: the chain must contain this head hash)`;

/** `databook log verify`: exit 0 (chain holds), 1 (chain broken), 2 (usage error). */
export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== "verify") {
    console.error(`databook log: unknown subcommand '${sub ?? ""}'; usage:\n${usage}`);
    return 2;
  }
  const parsed = parseFlags({
    args: rest,
    options: { notebook: { type: "string" }, head: { type: "string" }, data: { type: "string" } },
    strict: true,
  });
  if ("error" in parsed) {
    console.error(`databook log verify: ${parsed.error}\n${usage}`);
    return 2;
  }
  const { values } = parsed;
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
  let db: Database.Database;
  try {
    db = openExisting(values.data ?? DEFAULT_DATA_DIR);
  } catch (e) {
    console.error(`databook log verify: ${describeError(e)}`);
    return 2;
  }
  try {
    const r = verifyLog(db, { notebookId: values.notebook, head: values.head });
    if (r.ok && values.notebook && r.entries === 0) {
      // an id with no entries is a typo or a notebook from another data folder, not a clean chain
      console.error(
        `log verify failed: no incident-log entries for notebook ${values.notebook} in ${values.data ?? DEFAULT_DATA_DIR}; check the id (the part after /n/ in its link) and --data`,
      );
      return 1;
    }
    if (r.ok) {
      const where = values.notebook ? `notebook ${values.notebook}` : `${r.notebooks} notebook(s)`;
      const head = r.head
        ? `; head found at seq ${r.head.seq}${r.head.later ? ` (${r.head.later} later entries)` : ""}`
        : "";
      console.log(`ok: ${r.entries} entries in ${where}, chain intact${head}`);
      return 0;
    }
    console.error(
      `log verify failed: notebook ${r.notebookId}${r.seq === null ? "" : `, entry seq ${r.seq}`}: ${r.reason} (${r.entries} entries checked before it)`,
    );
    return 1;
  } finally {
    db.close();
  }
}
