// Generates the TypeScript types of the plugin worlds from the repository's wit/ folder into gen/
// (gitignored) with jco's guest type generator. Run by this package's `build` script, so the
// types always follow the WIT and are never copied by hand. It generates the world with every
// capability (`action-preview-completion-plugin`): its interfaces are those of `plugin` plus one
// per capability, so one run gives the types of every world.
//
// jco's type generator is itself a WebAssembly component running on preview2-shim, which since
// 0.26 starts with no filesystem preopens; we grant it the root directory for this run only,
// which is what the `jco guest-types` CLI cannot do on its own.
import { mkdir, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const witDir = resolve(here, "../../../wit");
const outDir = resolve(here, "../gen");

const transpileEntry = import.meta.resolve("@bytecodealliance/jco-transpile");
const shimFs = createRequire(fileURLToPath(transpileEntry)).resolve("@bytecodealliance/preview2-shim/filesystem");
const { _setPreopens } = (await import(shimFs)) as { _setPreopens: (p: Record<string, string>) => void };
_setPreopens({ "/": "/" });
const { generateGuestTypes } = await import("@bytecodealliance/jco-transpile");

const files = await generateGuestTypes(witDir, { worldName: "action-preview-completion-plugin", outDir: `${outDir}/` });
await rm(outDir, { recursive: true, force: true });
for (const [path, bytes] of Object.entries(files)) {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
}
await writeFile(join(outDir, ".gitignore"), "*\n");
console.log(`plugin-sdk: generated ${Object.keys(files).length} type files from ${witDir} into ${outDir}`);
