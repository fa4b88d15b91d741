// Shared by the project's bin scripts (plain JavaScript, so it runs on any Node): Databook runs
// TypeScript directly, which needs Node 24. Under an older Node, run the same script again under
// the project's Node 24 (scripts/node24.sh fetches it once into .tools/) and exit with its status.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Returns when this process already runs on Node ≥ 24; otherwise re-runs `scriptUrl` (the bin's
 * `import.meta.url`) with the same arguments under Node 24 and exits with its exit code.
 * @param name the command's name, for the error message when Node 24 cannot be started.
 */
export function ensureNode24(scriptUrl, name) {
  if (Number(process.versions.node.split(".")[0]) >= 24) return;
  const node24 = join(dirname(fileURLToPath(import.meta.url)), "node24.sh");
  const script = `source "${node24}" >&2 && exec node "$@"`;
  const child = spawnSync("bash", ["-c", script, name, fileURLToPath(scriptUrl), ...process.argv.slice(2)], {
    stdio: "inherit",
    env: { ...process.env, DATABOOK_FORCE_BUNDLED_NODE: "1" },
  });
  if (child.error) {
    console.error(
      `${name}: could not start Node 24 (${child.error.message}); run scripts/node24.sh by hand to see why`,
    );
    process.exit(1);
  }
  process.exit(child.status ?? 1);
}
