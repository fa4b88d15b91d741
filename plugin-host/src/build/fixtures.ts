/**
 * Builds the host's test fixtures (`test/fixtures/<name>/`: `index.ts` via componentize-js, or
 * `component.wat` via jco parse/embed/new) into `test/.built/<name>.wasm`. Run by the package's
 * `build` script so a fresh clone has them; unchanged fixtures are skipped (cached by source hash).
 */

import { existsSync } from "node:fs";
import { cp, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BuildResult, buildWatComponent, bundle, componentizeJs, DEFAULT_WIT_DIR } from "./index.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const fixturesDir = join(root, "test", "fixtures");
const outDir = join(root, "test", ".built");

/**
 * The WIT folder WAT fixtures are embedded against: the fixtures' own worlds (`fixtures.wit`,
 * which include `databook:plugin/plugin` plus extra WASI imports) with the repository's `wit/`
 * as dependencies.
 */
async function fixtureWitDir(): Promise<string> {
  const dir = join(outDir, "wit");
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, "deps", "databook-plugin"), { recursive: true });
  await cp(join(fixturesDir, "fixtures.wit"), join(dir, "fixtures.wit"));
  for (const f of await readdir(DEFAULT_WIT_DIR)) {
    if (f.endsWith(".wit")) await cp(join(DEFAULT_WIT_DIR, f), join(dir, "deps", "databook-plugin", f));
  }
  for (const d of await readdir(join(DEFAULT_WIT_DIR, "deps"), { withFileTypes: true })) {
    if (d.isDirectory())
      await cp(join(DEFAULT_WIT_DIR, "deps", d.name), join(dir, "deps", d.name), { recursive: true });
  }
  return dir;
}

/** Builds every fixture; returns the built paths by fixture name. */
export async function buildFixtures(log: (line: string) => void = console.log): Promise<Record<string, string>> {
  await mkdir(outDir, { recursive: true });
  const witDir = existsSync(join(fixturesDir, "fixtures.wit")) ? await fixtureWitDir() : DEFAULT_WIT_DIR;
  const built: Record<string, string> = {};
  for (const entry of await readdir(fixturesDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const src = join(fixturesDir, entry.name);
    const out = join(outDir, `${entry.name}.wasm`);
    const hashPath = join(outDir, `${entry.name}.hash`);
    let r: BuildResult;
    if (existsSync(join(src, "index.ts"))) {
      const jsPath = join(outDir, `${entry.name}.js`);
      const js = await bundle(join(src, "index.ts"));
      await writeFile(jsPath, js.code);
      r = await componentizeJs({ jsPath, out, hashPath, witDir: DEFAULT_WIT_DIR, worldName: js.world });
    } else if (existsSync(join(src, "component.wat"))) {
      const world = existsSync(join(src, "world.txt"))
        ? (await import("node:fs")).readFileSync(join(src, "world.txt"), "utf8").trim()
        : "databook:plugin/plugin";
      r = await buildWatComponent({ watPath: join(src, "component.wat"), out, hashPath, witDir, worldName: world });
    } else continue;
    built[entry.name] = out;
    log(`${entry.name}: ${r.cached ? "up to date" : `built in ${(r.ms / 1000).toFixed(1)} s`}`);
  }
  return built;
}

if (import.meta.main) {
  if (existsSync(fixturesDir)) await buildFixtures();
}
