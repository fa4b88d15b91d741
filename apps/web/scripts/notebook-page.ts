/**
 * After `vite build`: writes build/notebook.html, the SPA fallback page (200.html) plus preload
 * links for the notebook route's code and styles, which the server returns for `/n/<id>`. With
 * only 200.html the browser learns of that code after the app's entry has run and asked for the
 * route, one more round of fetches, then compiles it on a busy main thread (issue 15's "page
 * usable"). The file list comes from Vite's build manifest (`.vite/manifest.json`, written by
 * SvelteKit): the route's node and every chunk it imports statically. Lazy imports stay lazy.
 *
 * Exits 1 with a message when the build output is not where SvelteKit writes it.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const WEB = join(dirname(fileURLToPath(import.meta.url)), "..");
const ROUTE = "src/routes/n/[id]/+page.svelte";
const NODES = ".svelte-kit/generated/build/client-optimized/nodes";
const MANIFEST = ".svelte-kit/output/client/.vite/manifest.json";

type Chunk = { file: string; imports?: string[]; css?: string[] };

function fail(message: string): never {
  console.error(`notebook-page: ${message}; run \`vite build\` in apps/web first`);
  process.exit(1);
}

for (const p of [NODES, MANIFEST, "build/200.html"]) if (!existsSync(join(WEB, p))) fail(`${p} is missing`);
const node = readdirSync(join(WEB, NODES)).find((f) => readFileSync(join(WEB, NODES, f), "utf8").includes(ROUTE));
if (!node) fail(`no generated node exports ${ROUTE}`);
const manifest = JSON.parse(readFileSync(join(WEB, MANIFEST), "utf8")) as Record<string, Chunk>;
const entry = `${NODES}/${node}`;
if (!manifest[entry]) fail(`the manifest has no entry for ${entry}`);

const scripts = new Set<string>();
const styles = new Set<string>();
const visit = (key: string) => {
  const c = manifest[key];
  if (!c || scripts.has(c.file)) return;
  scripts.add(c.file);
  for (const css of c.css ?? []) styles.add(css);
  for (const i of c.imports ?? []) visit(i);
};
visit(entry);

const html = readFileSync(join(WEB, "build/200.html"), "utf8");
const links = [
  ...[...scripts].filter((f) => !html.includes(`/${f}"`)).map((f) => `<link href="/${f}" rel="modulepreload">`),
  ...[...styles]
    .filter((f) => !html.includes(`/${f}"`))
    .map((f) => `<link href="/${f}" rel="preload" as="style" crossorigin>`),
];
if (!html.includes("</head>")) fail("build/200.html has no </head>");
writeFileSync(join(WEB, "build/notebook.html"), html.replace("</head>", `\t${links.join("\n\t\t")}\n  </head>`));
console.log(`notebook-page: build/notebook.html preloads ${links.length} files of the notebook route`);
