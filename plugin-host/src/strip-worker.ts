/**
 * `node --no-warnings strip-worker.ts <src dir> <out dir> <file>...`: writes each TypeScript
 * module (paths relative to the src dir) as `<out dir>/<file>.mjs` with its types stripped
 * (./worker-source.ts says why). Writes into a temporary folder renamed into place, so a reader
 * never sees half of it. Exits 0, or 1 with the reason on stderr.
 */

import { readFileSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { stripTypeScriptTypes } from "node:module";
import { dirname, join } from "node:path";
import { toJavaScript } from "./worker-source.ts";

const [src, out, ...files] = process.argv.slice(2);
try {
  if (!src || !out || files.length === 0) throw new Error("usage: strip-worker.ts <src dir> <out dir> <file>...");
  const tmp = `${out}.${process.pid}.tmp`;
  for (const file of files) {
    const target = join(tmp, file.replace(/\.ts$/, ".mjs"));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(
      target,
      toJavaScript(readFileSync(join(src, file), "utf8"), (ts) => stripTypeScriptTypes(ts)),
    );
  }
  await mkdir(dirname(out), { recursive: true });
  try {
    await rename(tmp, out);
  } catch (err) {
    // Another host made the same folder meanwhile: theirs is as good.
    await rm(tmp, { recursive: true, force: true });
    if ((err as NodeJS.ErrnoException).code !== "ENOTEMPTY" && (err as NodeJS.ErrnoException).code !== "EEXIST")
      throw err;
  }
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
