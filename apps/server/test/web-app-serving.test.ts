import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, it } from "node:test";
import { startApp, tempDir } from "./helpers.ts";

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

it("serves the web app's static build with an SPA fallback, without shadowing the API", async () => {
  const web = tempDir("databook-web-");
  cleanups.push(web.cleanup);
  mkdirSync(join(web.dir, "_app"));
  writeFileSync(join(web.dir, "200.html"), "<!doctype html><title>spa</title>");
  writeFileSync(join(web.dir, "index.html"), "<!doctype html><title>home</title>");
  writeFileSync(join(web.dir, "_app", "app.js"), "export const x = 1;");
  const t = tempDir();
  cleanups.push(t.cleanup);
  const s = await startApp(t.dir, { webDir: web.dir });
  cleanups.push(() => s.stop());
  assert.match(await (await fetch(`${s.url}/`)).text(), /home/);
  const js = await fetch(`${s.url}/_app/app.js`);
  assert.match(js.headers.get("content-type")!, /javascript/);
  const deep = await fetch(`${s.url}/n/abc123`);
  assert.equal(deep.status, 200);
  assert.match(await deep.text(), /spa/, "client routes get the SPA fallback");
  const unknownLink = await fetch(`${s.url}/n/abc123?share=x`, { redirect: "manual" });
  assert.equal(unknownLink.status, 303, "a share link that opens nothing goes to the sign-in page with the reason");
  assert.equal(unknownLink.headers.get("location"), "/signin?problem=link-unknown&next=%2Fn%2Fabc123");
  const api = await fetch(`${s.url}/api/nope`);
  assert.equal(api.status, 404);
  assert.equal(((await api.json()) as { error: { kind: string } }).error.kind, "not-found");
});

it("returns the notebook page with its route's preloads for /n/<id>, and caches hashed assets for a year", async () => {
  const web = tempDir("databook-web-");
  cleanups.push(web.cleanup);
  mkdirSync(join(web.dir, "_app", "immutable", "nodes"), { recursive: true });
  writeFileSync(join(web.dir, "200.html"), "<!doctype html><title>spa</title>");
  writeFileSync(join(web.dir, "notebook.html"), "<!doctype html><title>notebook page</title>");
  writeFileSync(join(web.dir, "_app", "immutable", "nodes", "5.abc.js"), "export const x = 1;");
  writeFileSync(join(web.dir, "_app", "version.json"), "{}");
  const t = tempDir();
  cleanups.push(t.cleanup);
  const s = await startApp(t.dir, { webDir: web.dir });
  cleanups.push(() => s.stop());
  assert.match(await (await fetch(`${s.url}/n/abc123`)).text(), /notebook page/);
  assert.match(await (await fetch(`${s.url}/somewhere/else`)).text(), /spa/, "other client routes keep the fallback");
  const hashed = await fetch(`${s.url}/_app/immutable/nodes/5.abc.js`);
  assert.equal(hashed.headers.get("cache-control"), "public, max-age=31536000, immutable");
  const unhashed = await fetch(`${s.url}/_app/version.json`);
  assert.doesNotMatch(
    unhashed.headers.get("cache-control") ?? "",
    /immutable/,
    "files without a content hash revalidate",
  );
  const html = await fetch(`${s.url}/n/abc123`);
  assert.doesNotMatch(html.headers.get("cache-control") ?? "", /immutable/, "the page itself revalidates");
});
