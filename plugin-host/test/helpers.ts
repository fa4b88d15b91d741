/**
 * Shared test set-up: fixture components (built from test/fixtures/ by the package's build,
 * cached), throw-away plugin directories, a loopback HTTP server and a recording connector.
 */
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildFixtures } from "../src/build/fixtures.ts";
import { createPluginHost, type PluginHost, type PluginHostOptions } from "../src/index.ts";
import type { ConnectTarget } from "../src/net.ts";

const here = dirname(fileURLToPath(import.meta.url));
/** Built fixture components. */
export const BUILT = join(here, ".built");
/** The reference echo plugin (plugins/echo), built by its own package's build. */
export const ECHO_DIR = join(here, "..", "..", "plugins", "echo");
/** Transpile cache shared by all tests, so each component is transpiled once per machine. */
export const CACHE_DIR = join(here, ".cache");

/** Path of a built fixture (`probe`, `echo-wat`, `state-wat`, `wasi-probe-wat`); builds if missing. */
export async function fixture(name: string): Promise<string> {
  const path = join(BUILT, `${name}.wasm`);
  if (!existsSync(path)) await buildFixtures(() => {});
  if (!existsSync(path)) throw new Error(`fixture ${name} was not built; run npm run build -w plugin-host`);
  return path;
}

/** A config.toml for tests: the required keys, then `extra` lines (TOML), then `[limits]`. */
export function configToml(name: string, extra = "", limits = ""): string {
  return `name = "${name}"\ndescription = "Test plugin ${name}."\nversion = "0.0.1"\n${extra}\n[limits]\n${limits}\n`;
}

/** A plugin folder to create: its folder name, config text and the wasm to copy in (if any). */
export type FolderSpec = { folder: string; config: string; wasm?: string };

/** Writes one plugin folder under `root`. */
export async function writeFolder(root: string, spec: FolderSpec): Promise<string> {
  const dir = join(root, spec.folder);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "config.toml"), spec.config);
  if (spec.wasm) await copyFile(spec.wasm, join(dir, "plugin.wasm"));
  return dir;
}

/** A fresh temporary plugins directory with the given folders. */
export async function pluginsDir(specs: FolderSpec[]): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "databook-host-test-"));
  for (const s of specs) await writeFolder(root, s);
  return root;
}

/** Runs `fn` with a host on a fresh plugins directory, then closes the host and removes the folder. */
export async function withHost<T>(
  specs: FolderSpec[],
  opts: Partial<PluginHostOptions>,
  fn: (host: PluginHost, dir: string) => Promise<T>,
): Promise<T> {
  const dir = await pluginsDir(specs);
  const host = await createPluginHost({ pluginsDir: dir, watch: false, cacheDir: CACHE_DIR, env: {}, ...opts });
  try {
    return await fn(host, dir);
  } finally {
    await host.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A loopback HTTP server on a free port. */
export async function startServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    server,
    port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A connector that records every attempt and, whatever address it is asked for, connects to the
 * loopback test server: no packet ever leaves the machine, and the test can assert exactly which
 * addresses the host tried to reach.
 */
export function recordingConnector(loopbackPort: number): {
  attempts: ConnectTarget[];
  connector: (t: ConnectTarget) => Promise<Socket>;
} {
  const attempts: ConnectTarget[] = [];
  return {
    attempts,
    connector: (t) =>
      new Promise((resolve, reject) => {
        attempts.push(t);
        const s = connect({ host: "127.0.0.1", port: loopbackPort });
        s.once("connect", () => resolve(s));
        s.once("error", reject);
      }),
  };
}

/** Polls `check` every 50 ms until it returns true; fails after `limitMs` with `what`. */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  limitMs = 20_000,
): Promise<void> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

/** Asserts a failed result and returns its error (narrowing for the caller). */
export function errorOf(r: { ok: boolean; error?: { kind: string; message: string } }): {
  kind: string;
  message: string;
} {
  if (r.ok || !r.error) throw new Error(`expected the call to fail, but it succeeded: ${JSON.stringify(r)}`);
  return r.error;
}

/** Asserts a successful result and returns its output. */
export function outputOf(r: {
  ok: boolean;
  output?: { contentType: string; body: string; warnings: string[] };
  error?: unknown;
}): {
  contentType: string;
  body: string;
  warnings: string[];
} {
  if (!r.ok || !r.output) throw new Error(`expected the call to succeed, but it failed: ${JSON.stringify(r.error)}`);
  return r.output;
}
