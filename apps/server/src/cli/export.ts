import { writeFileSync } from "node:fs";
import type Database from "better-sqlite3";
import { exportNotebook } from "../export-md.ts";
import { DEFAULT_DATA_DIR, describeError, openExisting, parseFlags } from "./common.ts";

export const usage = `  export ID [--data DIR] [--out FILE]
                     write notebook ID as a Markdown postmortem (title, time range, participants,
                     log head hash, timeline, every cell with its recorded output) to stdout or FILE`;

/**
 * `databook export ID`: exit 0 on success, 1 when there is no such notebook or `--out` cannot be
 * written, 2 on a usage error.
 */
export async function run(argv: string[]): Promise<number> {
  const parsed = parseFlags({
    args: argv,
    options: { data: { type: "string" }, out: { type: "string", short: "o" } },
    allowPositionals: true,
    strict: true,
  });
  if ("error" in parsed) {
    console.error(`databook export: ${parsed.error}\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const id = positionals[0];
  if (!id || positionals.length > 1) {
    console.error(`databook export: give exactly one notebook id (the part after /n/ in its link)\n${usage}`);
    return 2;
  }
  let db: Database.Database;
  try {
    db = openExisting(values.data ?? DEFAULT_DATA_DIR);
  } catch (e) {
    console.error(`databook export: ${describeError(e)}`);
    return 2;
  }
  try {
    const md = exportNotebook(db, id);
    if (md === undefined) {
      console.error(`databook export: no notebook '${id}' in ${values.data ?? DEFAULT_DATA_DIR}`);
      return 1;
    }
    if (values.out) {
      try {
        writeFileSync(values.out, md);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        const why =
          code === "ENOENT" ? "its folder does not exist" : code === "EISDIR" ? "it is a folder" : describeError(e);
        console.error(
          `databook export: cannot write ${values.out}: ${why}; give --out a file path in an existing folder`,
        );
        return 1;
      }
    } else process.stdout.write(md);
    return 0;
  } finally {
    db.close();
  }
}
