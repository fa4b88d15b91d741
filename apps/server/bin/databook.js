#!/usr/bin/env node
// The `databook` command. Databook runs on Node.js 24; when started by an older Node
// (e.g. `npx databook` from a shell whose Node is 20), re-launch under the project's
// Node 24, fetched once into .tools/ by scripts/node24.sh.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
  const script = `source "${join(root, "scripts", "node24.sh")}" >&2 && exec node "$@"`;
  const child = spawnSync(
    "bash",
    ["-c", script, "databook", fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    {
      stdio: "inherit",
      env: { ...process.env, DATABOOK_FORCE_BUNDLED_NODE: "1" },
    },
  );
  if (child.error) {
    console.error(
      `databook: could not start Node 24 (${child.error.message}); run scripts/node24.sh by hand to see why`,
    );
    process.exit(1);
  }
  process.exit(child.status ?? 1);
} else {
  const { main } = await import("../src/cli/main.ts");
  process.exitCode = await main(process.argv.slice(2));
}
