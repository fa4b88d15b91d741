// `npm run new-plugin` end to end: scaffold a plugin into a temp folder, build its plugin.wasm with
// the project's build, and run the plugin's own generated tests (unit + real plugin host).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { buildPlugin } from "@databook/plugin-host/build";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const script = join(root, "scripts/new-plugin.ts");

describe("new-plugin", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it("scaffolds a plugin that builds, loads in the host and passes its own tests", async () => {
    // A copy of the repository's layout outside it: <tmp>/plugins/<name>, with the repository's
    // node_modules and tsconfig.base.json linked in, so workspace packages resolve.
    const tmp = await mkdtemp(join(tmpdir(), "databook-new-plugin-"));
    dirs.push(tmp);
    await symlink(join(root, "node_modules"), join(tmp, "node_modules"), "dir");
    await symlink(join(root, "tsconfig.base.json"), join(tmp, "tsconfig.base.json"));
    const plugins = join(tmp, "plugins");
    const made = spawnSync(process.execPath, [script, "disk-usage", "--dir", plugins, "--no-install"], {
      encoding: "utf8",
    });
    assert.equal(made.status, 0, made.stderr);
    const dir = join(plugins, "disk-usage");
    assert.match(await readFile(join(dir, "config.toml"), "utf8"), /^name = "disk-usage"$/m);
    const pkg = JSON.parse(await readFile(join(dir, "package.json"), "utf8"));
    assert.equal(pkg.scripts.build, "databook-build-plugin");

    const built = await buildPlugin({ dir });
    assert.ok(built.bytes > 1_000_000, `plugin.wasm is ${built.bytes} bytes`);

    // A fresh test run: without NODE_TEST_CONTEXT the child reports on its own instead of to us, and
    // without NODE_OPTIONS it does not add the reporters scripts/test.sh gives us to its own.
    const { NODE_TEST_CONTEXT: _, NODE_OPTIONS: __, ...env } = process.env;
    const tests = spawnSync(
      process.execPath,
      ["--test", "--test-reporter=tap", "src/**/*.test.ts", "test/**/*.test.ts"],
      { cwd: dir, encoding: "utf8", env },
    );
    assert.equal(tests.status, 0, tests.stdout + tests.stderr);
    assert.match(tests.stdout, /^# pass 4$/m);
    assert.match(tests.stdout, /^# fail 0$/m);
  });

  it("refuses a name config.toml would reject, and an existing folder", async () => {
    const plugins = await mkdtemp(join(tmpdir(), "databook-new-plugin-"));
    dirs.push(plugins);
    const bad = spawnSync(process.execPath, [script, "Disk Usage", "--dir", plugins, "--no-install"], {
      encoding: "utf8",
    });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /lower-case letters/);
    const first = spawnSync(process.execPath, [script, "dup", "--dir", plugins, "--no-install"], { encoding: "utf8" });
    assert.equal(first.status, 0, first.stderr);
    const again = spawnSync(process.execPath, [script, "dup", "--dir", plugins, "--no-install"], { encoding: "utf8" });
    assert.equal(again.status, 2);
    assert.match(again.stderr, /already exists/);
  });
});
