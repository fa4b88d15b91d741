import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { createServer } from "node:net";

/** Children still running, killed if the test process exits without stopping them. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Checks that a system binary is installed, failing with how to install it (the project's test
 * set-up, scripts/ensure-system-packages.sh, installs them when run as root).
 * @throws Error naming the Debian package.
 */
export function requireBinary(path: string, debianPackage: string): void {
  if (!existsSync(path)) {
    throw new Error(
      `${path} is missing: install Debian's ${debianPackage} (run scripts/ensure-system-packages.sh ${debianPackage}:${path.split("/").pop()} as root, or apt-get install -y ${debianPackage})`,
    );
  }
}

/** A free TCP port on 127.0.0.1 (bound to port 0, read back, released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === "string") throw new Error("could not read back a free port");
  return address.port;
}

/** A started server process. `stop()` ends it (SIGTERM, then SIGKILL after 5 s) and waits. */
export type ServiceProcess = { child: ChildProcess; output: () => string; stop: () => Promise<void> };

/**
 * Starts `bin args` and waits until `readyUrl` answers 200 (polled every 100 ms).
 * @param opts.timeoutMs how long to wait for readiness (default 30 s).
 * @throws Error with the process's output when it exits early or is not ready in time.
 */
export async function startService(opts: {
  name: string;
  bin: string;
  args: string[];
  cwd: string;
  readyUrl: string;
  timeoutMs?: number;
}): Promise<ServiceProcess> {
  const child = spawn(opts.bin, opts.args, { cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  running.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const c of running) c.kill("SIGKILL");
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    running.delete(child);
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let dead = false;
  void exited.then(() => {
    dead = true;
  });
  while (Date.now() < deadline) {
    if (dead) {
      running.delete(child);
      throw new Error(`${opts.name} exited before it was ready:\n${output}`);
    }
    try {
      const res = await fetch(opts.readyUrl);
      await res.arrayBuffer();
      if (res.ok) return { child, output: () => output, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`${opts.name} was not ready at ${opts.readyUrl} within ${opts.timeoutMs ?? 30_000} ms:\n${output}`);
}

/** A service started by {@link startInTempDir}: its base URL (no trailing slash) and folder. */
export type RunningService = { url: string; dir: string; stop: () => Promise<void> };

/**
 * Starts a Prometheus-family server (one that answers `GET /-/ready`) on 127.0.0.1 with a free port,
 * inside the temp folder `dir`; `args(port)` gives its command line. Another process may take the
 * port between the check and the bind, so an "address already in use" start is tried again on a new
 * port (3 attempts). `stop()` ends the process and removes `dir`; on failure the caller removes it.
 */
export async function startInTempDir(opts: {
  name: string;
  bin: string;
  dir: string;
  args: (port: number) => string[];
}): Promise<RunningService> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    try {
      const proc = await startService({
        name: opts.name,
        bin: opts.bin,
        cwd: opts.dir,
        readyUrl: `${url}/-/ready`,
        args: opts.args(port),
      });
      return {
        url,
        dir: opts.dir,
        stop: async () => {
          await proc.stop();
          await rm(opts.dir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      if (attempt < 3 && /address already in use/.test(String(err))) continue;
      throw err;
    }
  }
}
