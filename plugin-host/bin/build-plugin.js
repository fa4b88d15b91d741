#!/usr/bin/env node
// `databook-build-plugin [DIR]`: builds DIR/plugin.wasm (default: the current folder) from
// DIR/src/index.ts. Used as `"build": "databook-build-plugin"` in every plugin's package.json.
// The build runs TypeScript directly, which needs Node 24; under an older Node, re-launch with the
// project's Node 24 (scripts/node24.sh fetches it once).
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const script = `source "${join(root, "scripts", "node24.sh")}" >&2 && exec node "$@"`;
  const child = spawnSync(
    "bash",
    ["-c", script, "build-plugin", fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    {
      stdio: "inherit",
      env: { ...process.env, DATABOOK_FORCE_BUNDLED_NODE: "1" },
    },
  );
  process.exit(child.status ?? 1);
} else {
  const { main } = await import("../src/build/cli.ts");
  process.exitCode = await main(process.argv.slice(2));
}
