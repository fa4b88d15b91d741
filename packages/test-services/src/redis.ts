import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, requireBinary } from "./process.ts";

/** Debian's binary (package `redis-server`). */
export const REDIS_SERVER_BIN = "/usr/bin/redis-server";

/**
 * A running redis-server on loopback. `url` is `redis://127.0.0.1:<port>`.
 * - `stop()` ends it (SIGTERM, SIGKILL after 5 s) and removes its folder;
 * - `kill()` ends it with SIGKILL (a crash), keeping the folder so `restart()` can start again;
 * - `restart()` kills it if running and starts a fresh, empty server on the same port (an outage:
 *   clients reconnect to a Redis that lost everything, with a new `run_id`).
 */
export type RunningRedis = {
  url: string;
  port: number;
  dir: string;
  stop: () => Promise<void>;
  kill: () => Promise<void>;
  restart: () => Promise<void>;
};

/** Children still running, killed if the test process exits without stopping them. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Answers true once `port` replies `+PONG` to an inline PING. */
function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let reply = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (d) => {
      reply += d.toString("latin1");
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
  });
}

/** Starts redis-server on `port` in `dir` and waits (up to 10 s) until it answers PING. */
async function spawnRedis(port: number, dir: string): Promise<{ child: ChildProcess; output: () => string }> {
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--save",
    "", // no RDB snapshots: a restart starts empty, which is the outage the tests want
    "--appendonly",
    "no",
    "--daemonize",
    "no",
    "--protected-mode",
    "yes",
    "--maxmemory-policy",
    "noeviction",
    "--loglevel",
    "warning",
  ];
  const child = spawn(REDIS_SERVER_BIN, args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  running.add(child);
  child.once("exit", () => running.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const c of running) c.kill("SIGKILL");
    });
  }
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`redis-server exited before it was ready:\n${output}`);
    if (await pings(port)) return { child, output: () => output };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGKILL");
  throw new Error(`redis-server did not answer PING on 127.0.0.1:${port} within 10 s:\n${output}`);
}

/** Ends `child` with `signal` and waits for it (SIGKILL after 5 s if it does not end). */
async function end(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts Debian's redis-server on 127.0.0.1 with a free port and a temp folder, no persistence
 * (no RDB, no AOF) and `maxmemory-policy noeviction` (what docs/operations.md asks of production).
 * Another process may take the port between the check and the bind: a start that fails is tried
 * again on a new port (3 attempts).
 * @throws Error naming the Debian package when the binary is missing, or with the server's output.
 */
export async function startRedis(): Promise<RunningRedis> {
  requireBinary(REDIS_SERVER_BIN, "redis-server");
  const dir = await mkdtemp(join(tmpdir(), "databook-redis-"));
  try {
    let port = 0;
    let proc: Awaited<ReturnType<typeof spawnRedis>> | undefined;
    for (let attempt = 1; !proc; attempt++) {
      port = await freePort();
      try {
        proc = await spawnRedis(port, dir);
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
    let child = proc.child;
    return {
      url: `redis://127.0.0.1:${port}`,
      port,
      dir,
      stop: async () => {
        await end(child, "SIGTERM");
        await rm(dir, { recursive: true, force: true });
      },
      kill: () => end(child, "SIGKILL"),
      restart: async () => {
        await end(child, "SIGKILL");
        child = (await spawnRedis(port, dir)).child;
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
