import { AUDIT_CHAIN } from "../log/store.ts";
import { verifyLog } from "../log/verify.ts";
import { type CliStorage, describeError, openCliStorage, parseFlags } from "./common.ts";

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
  let storage: CliStorage;
  try {
    storage = await openCliStorage(parsed.values.data, "read-only");
  } catch (e) {
    console.error(`databook audit verify: ${describeError(e)}`);
    return (e as { kind?: string }).kind === "upstream" ? 1 : 2;
  }
  console.error(`databook audit verify: using ${storage.where}`);
  try {
    const r = await verifyLog(storage.sql, { table: "audit_entries", notebookId: AUDIT_CHAIN });
    if (r.ok) {
      console.log(`ok: ${r.entries} audit entries, chain intact`);
      return 0;
    }
    console.error(
      `audit verify failed: entry seq ${r.seq ?? "?"}: ${r.reason} (${r.entries} entries checked before it)`,
    );
    return 1;
  } catch (e) {
    console.error(`databook audit verify: ${describeError(e)}`);
    return 1;
  } finally {
    await storage.close();
  }
}
