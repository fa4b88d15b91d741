// The bundling step of the plugin build, on the repository's real plugins: WIT imports
// (`databook:…`, `wasi:…`) stay imports for componentize-js, and nothing else is left unresolved.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { buildPlugin, bundle } from "../src/build/index.ts";
import { ECHO_DIR } from "./helpers.ts";

const PLUGINS = join(ECHO_DIR, "..");

describe("plugin bundling", () => {
  it("keeps WIT imports external in every plugin of the repository, with no bundler warning", async () => {
    for (const name of ["echo", "prometheus", "alertmanager", "http"]) {
      const warnings: string[] = [];
      const { code: js } = await bundle(join(PLUGINS, name, "src", "index.ts"), {
        onWarning: (w) => warnings.push(w),
      });
      assert.deepEqual(warnings, [], `bundling plugins/${name} warned`);
      if (name !== "echo") {
        // The SDK's definePlugin binds to the host's runtime interface.
        assert.match(js, /^import \{[^}]*\} from "databook:plugin\/runtime@0\.1\.0";$/m, `plugins/${name}`);
      }
    }
  });

  it("reports an import it cannot resolve as a warning, and leaves wasi: imports alone", async () => {
    const dir = await mkdtemp(join(tmpdir(), "databook-bundle-test-"));
    try {
      const entry = join(dir, "index.ts");
      await writeFile(
        entry,
        [
          'import { getEnvironment } from "wasi:cli/environment@0.2.12";',
          'import { shout } from "no-such-package-anywhere";',
          "export function describe() { return { n: getEnvironment().length }; }",
          "export function invoke() { return shout(); }",
          "",
        ].join("\n"),
      );
      const warnings: string[] = [];
      const { code: js } = await bundle(entry, { onWarning: (w) => warnings.push(w) });
      assert.equal(warnings.length, 1, warnings.join("\n"));
      assert.match(warnings[0] ?? "", /^\[UNRESOLVED_IMPORT\] .*no-such-package-anywhere/);
      assert.match(js, /from "wasi:cli\/environment@0\.2\.12"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("builds the echo plugin without a bundler warning", async () => {
    const warnings: string[] = [];
    const r = await buildPlugin({ dir: ECHO_DIR, onWarning: (w) => warnings.push(w) });
    assert.deepEqual(warnings, []);
    assert.ok(existsSync(r.wasmPath) && r.bytes > 1_000_000, `expected a component at ${r.wasmPath}`);
  });
});
