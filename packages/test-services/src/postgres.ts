import { execFile, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmod, chown, mkdir, mkdtemp, readFile, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort, requireBinary } from "./process.ts";

const run = promisify(execFile);

/** Debian's PostgreSQL 15 server binaries (package `postgresql`, i.e. `postgresql-15`). */
export const POSTGRES_BIN_DIR = "/usr/lib/postgresql/15/bin";

/** The role the URL signs in as: owns the database, not a superuser (what an app role would be). */
export const POSTGRES_APP_ROLE = "databook";

/** A throwaway PostgreSQL cluster started by {@link startPostgres}. */
export type RunningPostgres = {
  /** `postgres://databook:<password>@127.0.0.1:<port>/databook` — TCP with a real password. */
  url: string;
  /** The password in `url` (tests check that no error message repeats it). */
  password: string;
  port: number;
  /** The cluster's folder (data/, the Unix socket, the server log); removed by `stop()`. */
  dataDir: string;
  /** Folder holding the Unix socket (`.s.PGSQL.<port>`), for superuser access by psql. */
  socketDir: string;
  /**
   * A fresh database owned by the app role; returns its URL (same host, port and password). Empty,
   * or with `opts.template` a copy of that database (`CREATE DATABASE … TEMPLATE`: a file copy, far
   * faster than migrating again). A template must have no open connection while it is copied —
   * close every pool on it first.
   * @throws Error with psql's output when the name is taken or invalid (`[a-z0-9_]+`), or the
   *   template is missing or in use.
   */
  createDatabase: (name: string, opts?: { template?: string }) => Promise<string>;
  /** Runs SQL as the superuser `postgres` over the Unix socket; returns psql's unaligned output. */
  psql: (sql: string, database?: string) => Promise<string>;
  /** Stops the server (fast shutdown) and starts it again on the same port; data is kept. */
  restart: () => Promise<void>;
  /** Crashes the server (immediate shutdown: every connection cut, no checkpoint); `start()` recovers. */
  kill: () => Promise<void>;
  /** Starts the server again after `kill()` or `restart()`'s first half, on the same port. */
  start: () => Promise<void>;
  /** Stops the server (immediate shutdown: nothing is kept, so no checkpoint) and removes `dataDir`. */
  stop: () => Promise<void>;
};

/** Postmaster pids still running, killed if the test process exits without stopping them. */
const running = new Map<string, number>();
let exitHookInstalled = false;

const asRoot = process.getuid?.() === 0;

/**
 * Runs a PostgreSQL binary: as the `postgres` user through `runuser` when we are root (initdb and
 * the server refuse to run as root), directly otherwise.
 */
async function pgRun(binDir: string, bin: string, args: string[], opts: { input?: string } = {}): Promise<string> {
  const [cmd, argv] = asRoot
    ? ["runuser", ["-u", "postgres", "--", join(binDir, bin), ...args]]
    : [join(binDir, bin), args];
  try {
    const p = run(cmd, argv, { maxBuffer: 16 << 20, timeout: 60_000 });
    if (opts.input !== undefined) p.child.stdin?.end(opts.input);
    return (await p).stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${bin} ${args.join(" ")} failed: ${e.stderr || e.stdout || e.message}`);
  }
}

const INITDB_ARGS = [
  "-U",
  "postgres",
  "--auth-local=trust",
  "--auth-host=scram-sha-256",
  "--encoding=UTF8",
  "--locale=C.UTF-8",
  "--no-sync",
  "--no-instructions",
];

/**
 * Where initdb's output is kept between runs: the repository's node_modules/.cache (written only by
 * whoever installed the dependencies, unlike the shared /tmp, so nobody else can plant a cluster
 * whose config runs their commands), one folder per binaries version and initdb arguments.
 */
const INITDB_CACHE = join(new URL("../../../node_modules/.cache/databook-initdb", import.meta.url).pathname);

/** One initdb per binaries version and process; the promise answers the cached data folder. */
const initdbDone = new Map<string, Promise<string>>();

/**
 * initdb is most of a cluster's start-up (seconds on the CI machine), and its output is the same
 * every time: run it once into {@link INITDB_CACHE} and give each cluster a copy (`cp -a`, which
 * keeps the `postgres` owner when root). A half-written cache is never used: initdb writes into a
 * temp folder that is renamed into place only when complete; a concurrent process that loses the
 * rename uses the winner's.
 */
function cachedInitdb(binDir: string): Promise<string> {
  let done = initdbDone.get(binDir);
  if (!done) {
    done = (async () => {
      const version = await pgRun(binDir, "postgres", ["--version"]);
      const key = createHash("sha256")
        .update(JSON.stringify([binDir, version, INITDB_ARGS, asRoot]))
        .digest("hex")
        .slice(0, 16);
      const cached = join(INITDB_CACHE, key);
      if (await isCluster(cached)) return join(cached, "data");
      await mkdir(INITDB_CACHE, { recursive: true });
      const fresh = await mkdtemp(join(INITDB_CACHE, "tmp-"));
      try {
        await chmod(fresh, 0o755);
        const data = await ownedDataDir(fresh);
        await pgRun(binDir, "initdb", ["-D", data, ...INITDB_ARGS]);
        await rename(fresh, cached).catch(async (err) => {
          if (!(await isCluster(cached))) throw err; // not a lost race
        });
      } finally {
        await rm(fresh, { recursive: true, force: true });
      }
      return join(cached, "data");
    })();
    initdbDone.set(binDir, done);
    done.catch(() => initdbDone.delete(binDir)); // a failure is not cached: the next start says it again
  }
  return done;
}

/** Whether `dir/data` holds initdb's complete output (PG_VERSION is among its last files). */
async function isCluster(dir: string): Promise<boolean> {
  return stat(join(dir, "data", "postgresql.conf")).then(
    () => stat(join(dir, "data", "PG_VERSION")).then(() => true),
    () => false,
  );
}

/** The `postgres` user's uid and gid (the server's files must be its own when we are root). */
async function postgresIds(): Promise<[number, number]> {
  const { stdout: uid } = await run("id", ["-u", "postgres"]);
  const { stdout: gid } = await run("id", ["-g", "postgres"]);
  return [Number(uid), Number(gid)];
}

/** Makes `parent/data` (mode 0700) owned by the `postgres` user when we are root; returns its path. */
async function ownedDataDir(parent: string): Promise<string> {
  const data = join(parent, "data");
  await mkdir(data, { mode: 0o700 });
  if (asRoot) for (const d of [parent, data]) await chown(d, ...(await postgresIds()));
  return data;
}

/**
 * Starts a throwaway PostgreSQL 15 cluster from Debian's binaries: a copy of `initdb`'s output (run
 * once per binaries version, as the `postgres` user when root, and kept in node_modules/.cache) in a
 * temp folder, listening on 127.0.0.1 at a free port (retried on another port
 * when taken) and on a Unix socket in that folder, with fsync off unless `opts.fsync` (test data
 * only: a commit survives a server crash, not an OS crash; benchmarks turn it on). Creates the
 * non-superuser role `databook` with a random password and a database `databook` it owns. Local
 * (socket) connections are trusted; TCP ones need the password (scram-sha-256).
 * @param opts.binDir where the binaries are (default {@link POSTGRES_BIN_DIR}).
 * @throws Error naming the Debian package when the binaries are missing, or with the server log
 *   when it does not start.
 */
export async function startPostgres(opts: { fsync?: boolean; binDir?: string } = {}): Promise<RunningPostgres> {
  const binDir = opts.binDir ?? POSTGRES_BIN_DIR;
  for (const bin of ["initdb", "pg_ctl", "postgres", "psql"]) requireBinary(join(binDir, bin), "postgresql");
  const dataDir = await mkdtemp(join(tmpdir(), "databook-postgres-"));
  const data = join(dataDir, "data");
  const log = join(dataDir, "server.log");
  try {
    const initialized = await cachedInitdb(binDir);
    await chmod(dataDir, 0o755);
    if (asRoot) await chown(dataDir, ...(await postgresIds()));
    await run("cp", ["-a", initialized, data]);
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }

  let port = 0;
  const start = async () => {
    const fast = opts.fsync ? "" : " -c fsync=off -c full_page_writes=off";
    const serverOpts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dataDir}${fast} -c max_connections=200`;
    await pgRun(binDir, "pg_ctl", ["-D", data, "-l", log, "-o", serverOpts, "-w", "-t", "60", "start"]);
    const pid = Number((await readFile(join(data, "postmaster.pid"), "utf8")).split("\n")[0]);
    running.set(dataDir, pid);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on("exit", () => {
        for (const [dir, p] of running) {
          try {
            process.kill(p, "SIGQUIT"); // immediate shutdown: the test process is going away
          } catch {
            // already gone
          }
          // a cluster is a copy of initdb's output (tens of MB): never left behind in the temp folder.
          // The postmaster takes a moment to stop its children; a detached shell waits, then removes it.
          spawn("sh", ["-c", `while kill -0 ${p} 2>/dev/null; do sleep 0.2; done; rm -rf '${dir}'`], {
            detached: true,
            stdio: "ignore",
          }).unref();
        }
      });
    }
  };
  const shutdown = async (mode: "fast" | "immediate") => {
    if (!running.has(dataDir)) return;
    await pgRun(binDir, "pg_ctl", ["-D", data, "-m", mode, "-w", "-t", "60", "stop"]);
    running.delete(dataDir);
  };
  const serverLog = async () => readFile(log, "utf8").catch(() => "(no server log)");

  try {
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await start();
        break;
      } catch (err) {
        const text = await serverLog();
        if (attempt < 3 && /could not bind|already in use/i.test(text)) continue;
        throw new Error(`${(err as Error).message}\nserver log:\n${text.slice(-4000)}`);
      }
    }
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }

  const psql = (sql: string, database = "postgres") =>
    pgRun(
      binDir,
      "psql",
      [
        "-X",
        "-q",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        dataDir,
        "-p",
        String(port),
        "-U",
        "postgres",
        "-d",
        database,
      ],
      {
        input: sql,
      },
    );
  const password = randomBytes(12).toString("hex");
  const urlOf = (db: string) => `postgres://${POSTGRES_APP_ROLE}:${password}@127.0.0.1:${port}/${db}`;
  const createDatabase = async (name: string, { template }: { template?: string } = {}) => {
    for (const n of [name, template ?? "x"])
      if (!/^[a-z0-9_]+$/.test(n)) throw new Error(`database name '${n}' must match [a-z0-9_]+`);
    await psql(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ""} OWNER ${POSTGRES_APP_ROLE};`);
    return urlOf(name);
  };
  try {
    await psql(`CREATE ROLE ${POSTGRES_APP_ROLE} LOGIN PASSWORD '${password}';`);
    await createDatabase("databook");
  } catch (err) {
    await shutdown("immediate");
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }

  return {
    url: urlOf("databook"),
    password,
    port,
    dataDir,
    socketDir: dataDir,
    createDatabase,
    psql,
    start,
    kill: () => shutdown("immediate"),
    restart: async () => {
      await shutdown("fast");
      await start();
    },
    stop: async () => {
      await shutdown("immediate");
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
