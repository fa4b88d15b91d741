/**
 * Starts the real stack the end-to-end tests and the web benchmark drive: Debian's Prometheus
 * loaded with the deterministic fixture (@databook/test-services), Debian's Alertmanager, and
 * `databook serve` (the real CLI, real compiled plugins from plugins/, the web app's static build)
 * on 127.0.0.1 with free ports and a temporary data folder, whose accounts are added with the
 * real CLI before the server starts. Everything stops with `stop()`.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  fixtureOpenMetrics,
  type RunningAlertmanager,
  type RunningPrometheus,
  startAlertmanager,
  startPrometheus,
} from "@databook/test-services";

import { ROOT } from "./root.ts";
import { addUsers, type TestUser } from "./users.ts";

export { ROOT } from "./root.ts";

const WEB_BUILD = join(ROOT, "apps", "web", "build");

/**
 * Adds an `up` series (value 1 every minute from 3 h before `nowMs` to 3 h after) to OpenMetrics
 * text ending in `# EOF`. The test Prometheus scrapes nothing, yet the README's first query is
 * `up` over the last hour: this lets that exact query draw a chart while the tests run.
 */
export function withUpSeries(openMetrics: string, nowMs: number): string {
  const start = Math.floor(nowMs / 60_000) * 60_000 - 3 * 3_600_000;
  const lines = ["# TYPE up gauge"];
  for (let t = start; t <= start + 6 * 3_600_000; t += 60_000) {
    lines.push(`up{instance="127.0.0.1:9090",job="prometheus"} 1 ${t / 1000}`);
  }
  return openMetrics.replace(/# EOF\s*$/, `${lines.join("\n")}\n# EOF\n`);
}

/**
 * A running stack: `url` is the Databook server origin (no trailing slash); `firstAdminUrl` the
 * one-time first-admin link the server printed (only when it started without accounts).
 */
export type Stack = {
  url: string;
  firstAdminUrl?: string;
  prometheusUrl?: string;
  alertmanagerUrl?: string;
  dataDir: string;
  /** Everything the server printed so far (for failure messages). */
  serverOutput: () => string;
  stop: () => Promise<void>;
};

/** Builds apps/web when its static build is missing (the test script normally builds it first). */
export function ensureWebBuild(): void {
  if (existsSync(join(WEB_BUILD, "200.html"))) return;
  execFileSync("npx", ["vite", "build"], { cwd: join(ROOT, "apps", "web"), stdio: "inherit" });
}

/**
 * A plugins folder for the stack: the bundled plugins (plugins/<name>/config.toml + plugin.wasm)
 * plus the plugin host's test fixtures `fixtures` (plugin name → fixture name, built into
 * plugin-host/test/.built by the host's build), in `dir`.
 * @throws Error naming the missing file when a plugin or fixture is not built.
 */
function pluginsFolder(dir: string, fixtures: Record<string, string>): string {
  const out = join(dir, "plugins");
  const bundled = join(ROOT, "plugins");
  for (const name of readdirSync(bundled)) {
    if (!existsSync(join(bundled, name, "config.toml"))) continue;
    mkdirSync(join(out, name), { recursive: true });
    for (const f of ["config.toml", "plugin.wasm"]) copyFileSync(join(bundled, name, f), join(out, name, f));
  }
  for (const [name, fixture] of Object.entries(fixtures)) {
    const built = join(ROOT, "plugin-host", "test", ".built", `${fixture}.wasm`);
    if (!existsSync(built)) throw new Error(`${built} is missing: build the plugin host first (npx turbo run build)`);
    mkdirSync(join(out, name), { recursive: true });
    copyFileSync(built, join(out, name, "plugin.wasm"));
    writeFileSync(
      join(out, name, "config.toml"),
      `name = "${name}"\ndescription = "Test fixture ${fixture}."\nversion = "0.0.1"\n`,
    );
  }
  return out;
}

/**
 * Waits until `databook serve` has printed its start-up lines (up to the `data:` line) and returns
 * them; rejects with its output if it exits or takes more than `timeoutMs`.
 */
function waitForStart(child: ChildProcess, output: () => string, timeoutMs: number): Promise<string> {
  return new Promise((done, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`databook serve printed no URL within ${timeoutMs} ms:\n${output()}`));
    }, timeoutMs);
    const onData = () => {
      const out = output();
      if (/Databook is running at /.test(out) && /^data: /m.test(out)) {
        cleanup();
        done(out);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`databook serve exited with ${code} before listening:\n${output()}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.off("exit", onExit);
    };
    child.stdout?.on("data", onData);
    child.once("exit", onExit);
  });
}

/** A `databook serve` process started by {@link spawnServe}. */
export type ServeProcess = {
  /** The web origin it printed, e.g. `http://127.0.0.1:41234`. */
  url: string;
  port: number;
  /** The first-admin link it printed (only when the database had no accounts). */
  firstAdminUrl?: string;
  child: ChildProcess;
  /** Everything it printed so far. */
  output: () => string;
  /** SIGTERM (a clean shutdown), SIGKILL after 10 s; resolves once it has exited. */
  stop: () => Promise<void>;
  /** SIGKILL at once (`kill -9`: no shutdown, nothing flushed); resolves once it has exited. */
  kill: () => Promise<void>;
};

/**
 * Starts the real `databook serve` on 127.0.0.1 (gRPC on a free port) with `dataDir`, the
 * plugins folder `plugins` (none when undefined), the web app's static build, and `env` added to
 * this process's environment; resolves once it has printed its URL.
 * @throws Error with its output when it exits or prints no URL within 60 s.
 */
export async function spawnServe(opts: {
  dataDir: string;
  plugins?: string;
  env?: Record<string, string>;
  port?: number;
  /** The web app's static build to serve (default apps/web/build; a benchmark compares two). */
  web?: string;
}): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    [
      join(ROOT, "apps", "server", "bin", "databook.js"),
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      String(opts.port ?? 0),
      "--grpc-port",
      "0",
      "--data",
      opts.dataDir,
      ...(opts.plugins ? ["--plugins", opts.plugins] : []),
      "--web",
      opts.web ?? WEB_BUILD,
    ],
    { cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<void>((done) => {
    if (child.exitCode !== null || child.signalCode !== null) done();
    else child.once("exit", () => done());
  });
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.kill(signal);
    await exited;
    clearTimeout(kill);
  };
  try {
    const started = await waitForStart(child, () => out, 60_000);
    const url = /Databook is running at (http:\/\/[^\s/]+)/.exec(started)?.[1] as string;
    const firstAdminUrl = /Sign in as the first admin \(one use, valid 15 minutes\): (\S+)/.exec(started)?.[1];
    return {
      url,
      port: Number(new URL(url).port),
      ...(firstAdminUrl ? { firstAdminUrl } : {}),
      child,
      output: () => out,
      stop: () => end("SIGTERM"),
      kill: () => end("SIGKILL"),
    };
  } catch (err) {
    await end("SIGKILL");
    throw err;
  }
}

/**
 * Starts the stack. `prometheus`/`alertmanager` (default true) start those services and pass
 * their URLs to the plugins through PROMETHEUS_URL / ALERTMANAGER_URL. `users` are added with the
 * CLI before the server starts (none: the server prints the first-admin link). `env` adds
 * variables for `databook serve` (DATABOOK_OIDC_*…); `port` fixes its web port (default 0, a free
 * one) for settings that must name the server's own URL, such as DATABOOK_PUBLIC_URL.
 * `fixturePlugins` (plugin name → fixture name) serves the plugin host's test fixtures beside the
 * bundled plugins, from a copy of both in the data folder's parent.
 * @throws Error when a binary is missing or a service does not come up (with its output).
 */
export async function startStack(
  opts: {
    prometheus?: boolean;
    alertmanager?: boolean;
    users?: TestUser[];
    env?: Record<string, string>;
    port?: number;
    fixturePlugins?: Record<string, string>;
    /** See spawnServe. */
    web?: string;
  } = {},
): Promise<Stack> {
  ensureWebBuild();
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  };
  try {
    let prom: RunningPrometheus | undefined;
    let am: RunningAlertmanager | undefined;
    if (opts.prometheus !== false) {
      prom = await startPrometheus({ openMetrics: withUpSeries(fixtureOpenMetrics(), Date.now()) });
      stops.push(prom.stop);
    }
    if (opts.alertmanager !== false) {
      am = await startAlertmanager();
      stops.push(am.stop);
    }
    const dataDir = mkdtempSync(join(tmpdir(), "databook-e2e-"));
    stops.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    addUsers(dataDir, opts.users ?? []);
    let plugins = join(ROOT, "plugins");
    if (opts.fixturePlugins) {
      const pluginsParent = mkdtempSync(join(tmpdir(), "databook-e2e-plugins-"));
      stops.push(async () => rmSync(pluginsParent, { recursive: true, force: true }));
      plugins = pluginsFolder(pluginsParent, opts.fixturePlugins);
    }
    const env: Record<string, string> = { ...opts.env };
    if (prom) env.PROMETHEUS_URL = prom.url;
    if (am) env.ALERTMANAGER_URL = am.url;
    const server = await spawnServe({ dataDir, plugins, env, port: opts.port, web: opts.web });
    stops.push(server.stop);
    const { url, firstAdminUrl } = server;
    return {
      url,
      ...(firstAdminUrl ? { firstAdminUrl } : {}),
      prometheusUrl: prom?.url,
      alertmanagerUrl: am?.url,
      dataDir,
      serverOutput: server.output,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
