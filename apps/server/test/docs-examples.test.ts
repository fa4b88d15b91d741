import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { after, it } from "node:test";
import { promisify } from "node:util";
import { startServer } from "../src/server.ts";
import { pluginsDirWith, tempDir } from "./helpers.ts";

// The code examples in the docs are run here, so they cannot rot.

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** The code block after `<!-- example: NAME -->` in a doc. */
function example(doc: string, name: string): string {
  const text = readFileSync(new URL(`../../../docs/${doc}`, import.meta.url), "utf8");
  const m = new RegExp(`<!-- example: ${name} -->\\s*\`\`\`\\w*\\n([\\s\\S]*?)\`\`\``).exec(text);
  assert.ok(m, `docs/${doc} has no example ${name}`);
  return m[1]!;
}

it("docs/grpc.md's TypeScript client calls the gRPC port with an API token", async () => {
  const p = pluginsDirWith(["echo"]);
  cleanups.push(p.cleanup);
  const t = tempDir();
  cleanups.push(t.cleanup);
  const server = await startServer({ host: "127.0.0.1", port: 0, grpcPort: 0, dataDir: t.dir, pluginsDir: p.dir });
  cleanups.push(() => server.close());
  const s = server.app.services;
  const owner = await s.accounts.create({ username: "ci", role: "member" });
  const { secret } = await s.tokens.create({ ownerId: owner.id, name: "docs example", scopes: ["read", "run"] });
  // beside the tests, so its imports resolve as they would in a checkout of this repository
  const file = new URL("./docs-example-grpc-client.ts", import.meta.url).pathname;
  writeFileSync(file, example("grpc.md", "grpc-client"));
  cleanups.push(() => rmSync(file, { force: true }));
  const { stdout } = await promisify(execFile)(process.execPath, [file], {
    encoding: "utf8",
    env: { ...process.env, DATABOOK_TOKEN: secret, DATABOOK_GRPC: server.grpcUrl },
  });
  assert.match(stdout, /^plugins: echo$/m);
  assert.match(stdout, /^text\/plain HELLO$/m);
});
