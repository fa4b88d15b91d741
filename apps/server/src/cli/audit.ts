import type Database from "better-sqlite3";
import { AUDIT_CHAIN } from "../log/store.ts";
import { verifyLog } from "../log/verify.ts";
import { DEFAULT_DATA_DIR, describeError, openExisting, parseFlags } from "./common.ts";

export const usage = `  audit verify [--data DIR]
                     check the audit log's hash chain (gRPC/Connect calls, tokens, account changes)`;

/** `databook audit verify`: exit 0 (chain holds), 1 (broken), 2 (usage error). */
export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const parsed = parseFlags({ args: rest, options: { data: { type: "string" } }, strict: true });
  if (sub !== "verify" || "error" in parsed) {
    console.error(
      `databook audit: ${"error" in parsed ? parsed.error : `unknown subcommand '${sub ?? ""}'`}\n${usage}`,
    );
    return 2;
  }
  let db: Database.Database;
  try {
    db = openExisting(parsed.values.data ?? DEFAULT_DATA_DIR);
  } catch (e) {
    console.error(`databook audit verify: ${describeError(e)}`);
    return 2;
  }
  try {
    const r = verifyLog(db, { table: "audit_entries", notebookId: AUDIT_CHAIN });
    if (r.ok) {
      console.log(`ok: ${r.entries} audit entries, chain intact`);
      return 0;
    }
    console.error(
      `audit verify failed: entry seq ${r.seq ?? "?"}: ${r.reason} (${r.entries} entries checked before it)`,
    );
    return 1;
  } finally {
    db.close();
  }
}
