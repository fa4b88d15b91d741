// A node:test reporter that writes one line "<seconds>\t<file>" per test file: the runner's own
// file-level duration (process start, imports, hooks and every test). scripts/test.sh adds it
// next to the spec reporter to list the slowest files.

/** @param {AsyncIterable<{ type: string, data: any }>} source the runner's events (node:test reporters API) */
export default async function* fileTimes(source) {
  for await (const event of source) {
    const d = event.data;
    // The file-level test is the one named after its file (a path relative to the runner's cwd).
    if (event.type === "test:complete" && d.nesting === 0 && d.file?.endsWith(d.name))
      yield `${(d.details.duration_ms / 1000).toFixed(1)}\t${d.file}\n`;
  }
}
