import { existsSync, writeFileSync } from "node:fs";
import { encodeVerifierKey, type SigningKey, verifierKeyOf } from "@databook/tlog";
import type { Sql } from "../db/sql.ts";
import { closeChartRenderer } from "../export/charts/index.ts";
import { type ExportSources, parseRunsChoice } from "../export/document.ts";
import { makeExport } from "../export/make.ts";
import { createCheckpointWriter } from "../log/checkpoint-writer.ts";
import { createCheckpointStore } from "../log/checkpoints.ts";
import { readSigningKey, signingKeyPath } from "../log/signing-key.ts";
import { createLogStore } from "../log/store.ts";
import { type CliStorage, DEFAULT_DATA_DIR, describeError, openCliStorage, parseFlags } from "./common.ts";

export const usage = `  export ID [--format md|html] [--runs pinned,last|all] [--data DIR] [--out FILE]
                     write notebook ID (from the data folder, or PostgreSQL at DATABOOK_DATABASE_URL)
                     as a postmortem (title, window, participants, key events,
                     timeline, every cell with the runs chosen, charts in HTML, the verification
                     block); HTML carries its proof, Markdown writes FILE.proof.json beside FILE`;

/**
 * The host the CLI names in a checkpoint's origin: the public URL's, else the one the server last
 * signed with (its listen address), else `localhost`.
 */
async function originHost(sql: Sql): Promise<string> {
  const url = process.env.DATABOOK_PUBLIC_URL;
  if (url) {
    try {
      return new URL(url).host;
    } catch {
      // config.ts reports a bad DATABOOK_PUBLIC_URL when the server starts
    }
  }
  return (await createCheckpointStore(sql).lastHost()) ?? "localhost";
}

/**
 * What the CLI exports from: with the signing key at hand, a checkpoint signed now (stored like
 * the server's); without it, the newest stored one (the server signs within 5 s of an append).
 */
async function cliSources(sql: Sql, key: SigningKey | undefined): Promise<ExportSources> {
  const store = createCheckpointStore(sql);
  const host = await originHost(sql);
  const writer = key && createCheckpointWriter({ sql, key, host: () => host });
  return {
    sql,
    log: createLogStore(sql),
    checkpoint: (id) => (writer ? writer.fresh(id) : store.latest(id)),
    verifierKeys: key
      ? [encodeVerifierKey(verifierKeyOf(key))]
      : (await store.keys()).slice(-1).map((k) => k.verifierKey),
  };
}

function writeFile(file: string, text: string): string | undefined {
  try {
    writeFileSync(file, text);
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" ? "its folder does not exist" : code === "EISDIR" ? "it is a folder" : describeError(e);
    return `cannot write ${file}: ${why}; give --out a file path in an existing folder`;
  }
}

/**
 * `databook export ID`: exit 0 on success, 1 when there is no such notebook, its log does not
 * match its checkpoint, or `--out` cannot be written, 2 on a usage error.
 */
export async function run(argv: string[]): Promise<number> {
  const parsed = parseFlags({
    args: argv,
    options: {
      data: { type: "string" },
      out: { type: "string", short: "o" },
      format: { type: "string" },
      runs: { type: "string" },
    },
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
  const format = values.format ?? "md";
  if (format !== "md" && format !== "html") {
    console.error(`databook export: --format must be md or html, not '${format}'`);
    return 2;
  }
  const dataDir = values.data ?? DEFAULT_DATA_DIR;
  let runs: ReturnType<typeof parseRunsChoice>;
  let key: SigningKey | undefined;
  try {
    runs = parseRunsChoice(values.runs);
    const { file } = signingKeyPath(dataDir, process.env);
    key = existsSync(file) ? readSigningKey(file) : undefined;
  } catch (e) {
    console.error(`databook export: ${describeError(e)}`);
    return 2;
  }
  // read-write: a checkpoint signed for the export is stored like the server's (append-only)
  let storage: CliStorage;
  try {
    storage = await openCliStorage(dataDir, "existing");
  } catch (e) {
    console.error(`databook export: ${describeError(e)}`);
    return (e as { kind?: string }).kind === "upstream" ? 1 : 2;
  }
  console.error(`databook export: using ${storage.where}`);
  const sql = storage.sql;
  try {
    const files = await makeExport(await cliSources(sql, key), id, { format, runs, nowMs: Date.now() });
    if (!files) {
      console.error(`databook export: no notebook '${id}' with log entries in ${storage.where}`);
      return 1;
    }
    if (!key)
      console.error(
        "databook export: no signing key here: the export is proved by the newest stored checkpoint, so entries appended after it are not in it",
      );
    const [main, proof] = files;
    if (!values.out) {
      process.stdout.write(main!.text);
      if (proof) console.error("databook export: the proof file is written only with --out FILE (as FILE.proof.json)");
      return 0;
    }
    const problem =
      writeFile(values.out, main!.text) ?? (proof ? writeFile(`${values.out}.proof.json`, proof.text) : undefined);
    if (problem) {
      console.error(`databook export: ${problem}`);
      return 1;
    }
    return 0;
  } catch (e) {
    console.error(`databook export: ${describeError(e)}`);
    return 1;
  } finally {
    await storage.close();
    await closeChartRenderer();
  }
}
