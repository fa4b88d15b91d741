import { existsSync, readFileSync } from "node:fs";
import { closeChartRenderer } from "../export/charts/index.ts";
import { verifyExport } from "../export/verify.ts";
import { describeError, type UsageError } from "./common.ts";
import { parseKeyArgs } from "./keys.ts";

/** Reads `--checkpoint` files: each holds one signed checkpoint note. Throws a usage error naming the file. */
export function readCheckpointFiles(files: readonly string[]): string[] {
  return files.map((f) => {
    try {
      const text = readFileSync(f, "utf8");
      return text.endsWith("\n") ? text : `${text}\n`;
    } catch (e) {
      throw {
        kind: "bad-input",
        message: `--checkpoint ${f} cannot be read: ${(e as Error).message}`,
      } satisfies UsageError;
    }
  });
}

/**
 * `databook log verify --export FILE --key PUBKEY [--proof FILE] [--checkpoint FILE]…`: checks an
 * exported postmortem with no database. Exit 0 when it holds, 1 naming the first failing entry
 * or part, 2 on a usage error.
 */
export async function verifyExportCommand(values: {
  export?: string;
  key?: string[];
  proof?: string;
  checkpoint?: string[];
}): Promise<number> {
  const file = values.export as string;
  if (!values.key?.length) {
    console.error(
      "databook log verify --export: --key PUBKEY is required: the public key the server's operator gave you ('databook log key' prints it); the export's own copy is never trusted",
    );
    return 2;
  }
  let text: string;
  let proof: string | undefined;
  let keys: ReturnType<typeof parseKeyArgs>;
  let kept: string[];
  try {
    keys = parseKeyArgs(values.key);
    kept = readCheckpointFiles(values.checkpoint ?? []);
    text = readFileSync(file, "utf8");
    const proofFile = values.proof ?? `${file}.proof.json`;
    if (values.proof !== undefined || existsSync(proofFile)) proof = readFileSync(proofFile, "utf8");
  } catch (e) {
    console.error(`databook log verify --export: ${describeError(e)}`);
    return 2;
  }
  try {
    const r = await verifyExport({ text, proof, keys, olderCheckpoints: kept });
    if (!r.ok) {
      console.error(`export verify failed: ${file}: ${r.message}`);
      return 1;
    }
    console.log(
      `ok: ${file} shows exactly what its proof holds: the whole log of ${r.origin} (${r.treeSize} entries, root ${r.rootHash}) signed by ${r.signedBy.join(", ")}, ${r.outputs} output(s)${r.consistentWith.length ? `; it extends your checkpoint(s) of size ${r.consistentWith.join(", ")}` : ""}`,
    );
    console.log("  not proved: the cells' own text (not in the log), and that a data source told the truth");
    return 0;
  } finally {
    await closeChartRenderer();
  }
}
