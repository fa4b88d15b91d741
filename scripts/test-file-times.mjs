// A node:test reporter that writes nothing to its destination: it appends one line
// "<seconds>\t<file>" per test file (the runner's own file-level duration: process start, imports,
// hooks and every test) to the file named by DATABOOK_TEST_TIMES, so scripts/test.sh can list the
// slowest files. Inert when DATABOOK_TEST_TIMES is unset. Appends rather than truncating so that
// several runs (one per workspace) can share one file.
import { appendFileSync } from "node:fs";

/** @param {AsyncIterable<{ type: string, data: any }>} source the runner's events (node:test reporters API) */
export default async function* fileTimes(source) {
  const out = process.env.DATABOOK_TEST_TIMES;
  for await (const event of source) {
    const d = event.data;
    // The file-level test is the one named after its file (a path relative to the runner's cwd).
    if (!out || event.type !== "test:complete" || d.nesting !== 0 || !d.file?.endsWith(d.name)) continue;
    appendFileSync(out, `${(d.details.duration_ms / 1000).toFixed(1)}\t${d.file}\n`);
  }
}
