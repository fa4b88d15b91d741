/**
 * `npm run new-plugin -- <name> [--dir <plugins folder>] [--no-install]`
 *
 * Scaffolds a Databook plugin: plugins/<name>/ with config.toml, src/index.ts (definePlugin),
 * src/greet.ts + its unit test, and test/plugin.test.ts, which loads the built plugin.wasm in the
 * real plugin host and invokes it. Then (unless --no-install) links the new npm workspace and
 * builds plugin.wasm, so `npm test -w plugins/<name>` passes straight away.
 * Exit codes: 0 done, 1 failed (install/build), 2 bad usage.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** Same rule as config.toml's `name` (plugin-host's CONFIG_SCHEMA). */
const NAME = /^[a-z][a-z0-9_-]{0,62}$/;

/** The files of a new plugin, path (relative to its folder) → contents. */
export function pluginFiles(name: string): Record<string, string> {
  const pkg = {
    name: `@databook/plugin-${name}`,
    version: "0.1.0",
    private: true,
    description: `Databook plugin ${name}. Built from src/index.ts into plugin.wasm.`,
    type: "module",
    scripts: { build: "databook-build-plugin", test: 'node --test "src/**/*.test.ts" "test/**/*.test.ts"' },
    dependencies: { "@databook/plugin-sdk": "0.1.0" },
    devDependencies: { "@databook/plugin-host": "0.1.0", "@databook/test-services": "0.1.0" },
  };
  return {
    "package.json": `${JSON.stringify(pkg, null, 2)}\n`,
    ".gitignore": "plugin.wasm\nbuild/\n",
    "tsconfig.json": '{\n  "extends": "../../tsconfig.base.json",\n  "include": ["src", "test"]\n}\n',
    "config.toml": `# The ${name} plugin. Field reference: docs/writing-plugins.md ("config.toml").
name = "${name}"
description = "Greets whoever is named in the cell (a starting point: replace with what ${name} does)."
version = "0.1.0"

# Environment variables of the server the plugin may read (ctx.env / ctx.secret), e.g. ["${name.toUpperCase().replace(/-/g, "_")}_URL"].
allowed_env_vars = []
# Where it may send HTTP requests: "https://api.example.com", "https://*.internal", "\${${name.toUpperCase().replace(/-/g, "_")}_URL}".
allowed_hosts = []

[limits]
timeout_ms = 10000
memory_mb = 128
max_output_bytes = 1048576
max_http_requests = 5
`,
    "src/index.ts": `/**
 * The ${name} plugin's entry point: binds the plugin's logic to the WIT world (describe + invoke).
 * Only this file imports "@databook/plugin-sdk/plugin" (it talks to the host); everything else
 * imports "@databook/plugin-sdk" and can be unit-tested under Node.
 */
import { definePlugin } from "@databook/plugin-sdk/plugin";
import { DESCRIPTION, run } from "./greet.ts";

export const { describe, invoke } = definePlugin({ describe: DESCRIPTION, invoke: run });
`,
    "src/greet.ts": `import {
  type Call,
  CONTENT_TYPES,
  type Context,
  markdownOutput,
  PluginError,
  type PluginOutput,
} from "@databook/plugin-sdk";

/** What describe() answers: shown in the UI and by \`databook plugins list\`. */
export const DESCRIPTION = {
  description: "Greets whoever is named in the cell.",
  version: "0.1.0",
  options: [{ name: "shout", description: "true to greet in capitals (default false)." }],
  contentTypes: [CONTENT_TYPES.markdown],
};

/** The greeting for \`name\`; in capitals when \`shout\`. */
export function greeting(name: string, shout: boolean): string {
  const text = \`Hello, \${name}!\`;
  return shout ? text.toUpperCase() : text;
}

/**
 * Runs one call: the cell's body is a name. Throws PluginError("bad-input") for an empty body;
 * a bad @shout value is reported by call.options.boolean itself.
 */
export function run(call: Call, ctx: Context): PluginOutput {
  const name = call.input.trim();
  if (!name) throw new PluginError("bad-input", "write a name in the cell body, e.g. world");
  ctx.log.info(\`greeting \${name} for \${call.user}\`);
  return markdownOutput(\`**\${greeting(name, call.options.boolean("shout") ?? false)}**\`);
}
`,
    "src/greet.test.ts": `import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { greeting } from "./greet.ts";

describe("greeting", () => {
  it("greets by name, in capitals when shouting", () => {
    assert.equal(greeting("world", false), "Hello, world!");
    assert.equal(greeting("world", true), "HELLO, WORLD!");
  });
});
`,
    "test/plugin.test.ts": `// Runs the built plugin.wasm in the real plugin host (build it first: npm run build).
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createPluginHost, type PluginHost } from "@databook/plugin-host";
import { type StagedPlugins, stagePlugins } from "@databook/test-services";

const PLUGIN = "${name}";
const pluginDir = join(dirname(fileURLToPath(import.meta.url)), "..");

describe("the plugin in the plugin host", () => {
  let staged: StagedPlugins;
  let host: PluginHost;
  before(async () => {
    staged = await stagePlugins([{ from: pluginDir }]);
    host = await createPluginHost({ pluginsDir: staged.dir, poolSize: 1, watch: false, env: {} });
  });
  after(async () => {
    await host?.close();
    await staged?.remove();
  });

  it("loads and describes itself", () => {
    const { plugins, broken } = host.list();
    assert.deepEqual(broken, []);
    assert.equal(plugins[0]?.name, PLUGIN);
    assert.deepEqual(
      plugins[0]?.options.map((o) => o.name),
      ["shout"],
    );
  });

  it("greets the name in the cell", async () => {
    const res = await host.invoke(PLUGIN, { input: "world", options: [["shout", "true"]], user: "tester" });
    assert.ok(res.ok, JSON.stringify(res));
    assert.equal(res.output.contentType, "text/markdown");
    assert.equal(res.output.body, "**HELLO, WORLD!**");
  });

  it("reports a bad option as bad input", async () => {
    const res = await host.invoke(PLUGIN, { input: "world", options: [["shout", "loudly"]], user: "tester" });
    assert.equal(res.ok, false);
    assert.equal(!res.ok && res.error.kind, "bad-input");
  });
});
`,
    "README.md": `# ${name}

A Databook plugin. Build: \`npm run build -w plugins/${name}\` · test: \`npm test -w plugins/${name}\`.

\`\`\`
@plugin=${name} @shout=true
world
\`\`\`

See docs/writing-plugins.md for the world, config.toml, capabilities, content types and testing.
`,
  };
}

function run(cmd: string, args: string[], cwd: string): boolean {
  console.log(`$ ${cmd} ${args.join(" ")}`);
  return spawnSync(cmd, args, { cwd, stdio: "inherit" }).status === 0;
}

/** Runs the command; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const name = argv.find((a) => !a.startsWith("--") && argv[argv.indexOf(a) - 1] !== "--dir");
  const dirFlag = argv.indexOf("--dir");
  const pluginsRoot = dirFlag >= 0 && argv[dirFlag + 1] ? resolve(argv[dirFlag + 1] as string) : join(ROOT, "plugins");
  const install = !argv.includes("--no-install");
  if (!name || !NAME.test(name)) {
    console.error(
      `usage: npm run new-plugin -- <name> [--dir <plugins folder>] [--no-install]\n` +
        `  <name>: lower-case letters, digits, '-' or '_', starting with a letter (it becomes @plugin=<name>)`,
    );
    return 2;
  }
  const dir = join(pluginsRoot, name);
  if (existsSync(dir)) {
    console.error(`new-plugin: ${dir} already exists; pick another name or remove it`);
    return 2;
  }
  for (const [path, text] of Object.entries(pluginFiles(name))) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  const rel = relative(ROOT, dir) || dir;
  console.log(`new-plugin: created ${rel}/`);
  if (install) {
    if (!run("npm", ["install", "--no-audit", "--no-fund"], ROOT)) return 1;
    if (!run("npm", ["run", "build", "-w", rel], ROOT)) return 1;
  }
  console.log(
    `\nnext:\n  npm test -w ${rel}          # unit test + the plugin in the real host\n` +
      `  npx databook get ${name} world --option shout=true   # run it from the repository root\n` +
      `  edit ${rel}/src/greet.ts and ${rel}/config.toml; docs/writing-plugins.md explains the rest`,
  );
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
  process.exitCode = await main(process.argv.slice(2));
