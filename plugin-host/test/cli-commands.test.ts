import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { buildPlugin } from "../src/build/index.ts";
import { configToml, ECHO_DIR, fixture, pluginsDir } from "./helpers.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const BIN = join(ROOT, "apps", "server", "bin", "databook.js");

/** Runs the `databook` command from the repository root; resolves with its exit code and output. */
function databook(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

before(async () => {
  await buildPlugin({ dir: ECHO_DIR });
});

describe("databook get", () => {
  it("prints the echo plugin's output for the repository's plugins folder", async () => {
    assert.deepEqual(await databook("get", "echo", "hello databook", "--plugins", "plugins"), {
      code: 0,
      stdout: "hello databook\n",
      stderr: "",
    });
  });

  it("passes --option pairs to the plugin and prints its warnings on stderr", async () => {
    const r = await databook(
      "get",
      "echo",
      "hi",
      "--option",
      "case=upper",
      "--option",
      "repeat=2",
      "--option",
      "colour=red",
      "--range",
      "1h",
      "--step",
      "1m",
    );
    assert.deepEqual(r, { code: 0, stdout: "HI\nHI\n", stderr: "warning: echo ignores --option colour\n" });
  });

  it("exits 1 with the error kind and message when the call fails", async () => {
    assert.deepEqual(await databook("get", "echo", "hi", "--option", "repeat=many"), {
      code: 1,
      stdout: "",
      stderr: "databook get: Bad input: --option repeat=many is not valid: use a whole number from 1 to 100\n",
    });
    const r = await databook("get", "nope", "hi", "--plugins", "plugins");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^databook get: Unknown plugin: no plugin named "nope" is loaded/);
  });

  it("exits 2 for a usage mistake, saying what was wrong", async () => {
    const r = await databook("get", "echo", "hi", "--range", "soon");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^databook get: .*--range/);
    const reserved = await databook("get", "echo", "hi", "--option", "range=1h");
    assert.equal(reserved.code, 2);
    assert.match(reserved.stderr, /^databook get: --option range=…: "range" is reserved; use --range instead/);
    const display = await databook("get", "echo", "hi", "--option", "unit=bytes");
    assert.equal(display.code, 2);
    assert.match(display.stderr, /^databook get: --option unit=…: "unit" is reserved; it is a chart display key/);
  });
});

describe("databook plugins list", () => {
  it("lists loaded plugins with their options and broken folders with the reason", async () => {
    const dir = await pluginsDir([
      { folder: "echo", config: configToml("wat-echo"), wasm: await fixture("echo-wat") },
      { folder: "broken", config: configToml("broken") },
    ]);
    try {
      const r = await databook("plugins", "list", "--plugins", dir);
      assert.equal(r.code, 1, "exit 1 when a folder is broken");
      assert.equal(
        r.stdout,
        `wat-echo 0.0.1  Echo written in WAT.\n    outputs: text/plain\n\nbroken (1):\n  ${join(dir, "broken")} (broken): plugin.wasm is missing: build it (npm run build in the plugin folder, or turbo run build at the root)\n`,
      );
      const json = JSON.parse((await databook("plugins", "list", "--plugins", dir, "--json")).stdout);
      assert.deepEqual(
        json.plugins.map((p: { name: string }) => p.name),
        ["wat-echo"],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("databook plugins list with capabilities", () => {
  it("shows a plugin's capabilities and the warning about an option with a reserved name", async () => {
    const dir = await pluginsDir([
      { folder: "capable", config: configToml("capable"), wasm: await fixture("capable") },
    ]);
    try {
      const r = await databook("plugins", "list", "--plugins", dir);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^ {4}capabilities: action-preview, completion$/m);
      assert.match(r.stdout, /^ {4}warning: the plugin declares an option named @legend, which Databook reserves/m);
      const json = JSON.parse((await databook("plugins", "list", "--plugins", dir, "--json")).stdout);
      assert.deepEqual(json.plugins[0].capabilities, ["action-preview", "completion"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("--plugins mistakes", () => {
  it("a folder that does not exist is a usage error naming the folder, not an unknown plugin", async () => {
    const r = await databook("get", "echo", "hi", "--plugins", "/nonexistent-databook-plugins");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--plugins \/nonexistent-databook-plugins is not a folder; give the folder that holds/);
    assert.doesNotMatch(r.stderr, /Unknown plugin/);
  });

  it("one plugin's own folder points at its parent", async () => {
    const r = await databook("plugins", "list", "--plugins", "plugins/echo");
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /plugins\/echo is one plugin's own folder; give the folder that holds it: --plugins .*\/plugins$/m,
    );
    assert.equal(r.stdout, "");
  });
});
