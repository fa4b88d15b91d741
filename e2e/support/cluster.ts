/**
 * Several `databook serve` processes run as one Databook (issue 16): one throwaway PostgreSQL
 * cluster and one redis-server (@databook/test-services), a signing key shared through
 * `DATABOOK_SIGNING_KEY_FILE` (made with the real CLI), a data folder per node, and a loopback
 * balancer in front that sends each new connection to the first node, in order, that accepts one.
 * The page opens the balancer's URL; a test kills or stops nodes behind it.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Balancer,
  type RunningPostgres,
  type RunningRedis,
  startBalancer,
  startPostgres,
  startRedis,
} from "@databook/test-services";
import { CELL_KEYS, YDOC } from "@databook/wire";
import * as Y from "yjs";
import { ensureWebBuild, ROOT, type ServeProcess, spawnServe } from "./stack.ts";

/** A running cluster; `stop()` ends every node, the balancer, Redis and PostgreSQL. */
export type Cluster = {
  pg: RunningPostgres;
  redis: RunningRedis;
  /** The nodes, in the balancer's order (the first takes every connection while it is up). */
  nodes: ServeProcess[];
  balancer: Balancer;
  /** Path of the first-admin link a node printed (`/auth/link/…`): open it through the balancer. */
  firstAdminPath: string;
  /** What every node printed (for failure messages). */
  output: () => string;
  stop: () => Promise<void>;
};

/**
 * Starts PostgreSQL, Redis and `nodes` Databook nodes on them (in parallel), then the balancer.
 * `plugins`: serve the bundled plugins (default none). `env` is added to every node's environment.
 * @throws Error with the nodes' output when one does not start.
 */
export async function startCluster(
  opts: { nodes?: number; plugins?: boolean; env?: Record<string, string> } = {},
): Promise<Cluster> {
  ensureWebBuild();
  const stops: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  };
  try {
    const [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
    stops.push(pg.stop, redis.stop);
    const keyDir = mkdtempSync(join(tmpdir(), "databook-e2e-key-"));
    stops.push(async () => rmSync(keyDir, { recursive: true, force: true }));
    const keyFile = join(keyDir, "signing-key");
    execFileSync(
      process.execPath,
      [join(ROOT, "apps", "server", "bin", "databook.js"), "log", "key", "--new", keyFile],
      {
        cwd: ROOT,
        stdio: "ignore",
      },
    );
    const env = {
      DATABOOK_DATABASE_URL: pg.url,
      DATABOOK_REDIS_URL: redis.url,
      DATABOOK_SIGNING_KEY_FILE: keyFile,
      ...opts.env,
    };
    const nodes = await Promise.all(
      Array.from({ length: opts.nodes ?? 2 }, async () => {
        const dataDir = mkdtempSync(join(tmpdir(), "databook-e2e-node-"));
        stops.push(async () => rmSync(dataDir, { recursive: true, force: true }));
        const node = await spawnServe({ dataDir, env, ...(opts.plugins ? { plugins: join(ROOT, "plugins") } : {}) });
        stops.push(node.stop);
        return node;
      }),
    );
    const link = nodes.map((n) => n.firstAdminUrl).find(Boolean);
    if (!link) throw new Error(`no node printed a first-admin link:\n${nodes.map((n) => n.output()).join("\n")}`);
    const balancer = await startBalancer(nodes.map((n) => n.port));
    stops.push(balancer.close);
    return {
      pg,
      redis,
      nodes,
      balancer,
      firstAdminPath: new URL(link).pathname,
      output: () => nodes.map((n, i) => `--- node ${i} (${n.url}) ---\n${n.output()}`).join("\n"),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * A notebook's document as PostgreSQL holds it (snapshot + the updates after it, read by psql as
 * the superuser): each cell's id and source, in the cells array's order.
 */
export async function storedCells(pg: RunningPostgres, notebookId: string): Promise<{ id: string; source: string }[]> {
  if (!/^[\w-]+$/.test(notebookId)) throw new Error(`not a notebook id: ${notebookId}`);
  const rows = await pg.psql(
    `SELECT encode(data, 'hex') FROM (
       SELECT 0 AS part, 0 AS seq, data FROM doc_snapshots WHERE notebook_id = '${notebookId}'
       UNION ALL
       SELECT 1, u.seq, u.data FROM doc_updates u JOIN doc_snapshots s USING (notebook_id)
         WHERE u.notebook_id = '${notebookId}' AND u.seq > s.upto_seq
     ) parts ORDER BY part, seq`,
    "databook",
  );
  const doc = new Y.Doc();
  // hex, unlike base64, is never wrapped by psql: one row per line
  for (const row of rows.split("\n")) if (row.trim()) Y.applyUpdate(doc, Buffer.from(row.trim(), "hex"));
  const cells = doc.getArray<Y.Map<unknown>>(YDOC.cells).toArray();
  const out = cells.map((m) => ({ id: String(m.get(CELL_KEYS.id)), source: String(m.get(CELL_KEYS.source) ?? "") }));
  doc.destroy();
  return out;
}
