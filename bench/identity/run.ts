// Identity and access figures (issues: identity for people, credentials for machines), printed as
// a table and written to bench/results/identity.json:
//   1. the session check's cost per request: the identity lookup in-process (p50 µs), and a signed-in
//      request against the same request without a credential;
//   2. the time from a revocation to the socket's close: in-process (a member removed) and from
//      the CLI in another process (an account disabled: noticed through PRAGMA data_version);
//   3. authenticated Get (echo) over gRPC and Connect, audit write included, against the same
//      server with an interceptor that only stamps a fixed caller (no token check, no audit).
// Run after `npm test` or `npm start` built everything, on a quiet machine:
//   flock /tmp/databook-heavy.lock node bench/identity/run.ts [--calls 2000]
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter, createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { PROTOCOL_VERSION } from "@databook/wire";
import { WebSocket } from "ws";
import { PluginService } from "../../apps/server/gen/databook/v1/plugins_pb.js";
import { CALLER } from "../../apps/server/src/grpc/auth.ts";
import { pluginServiceRoutes } from "../../apps/server/src/grpc/service.ts";
import { startServer } from "../../apps/server/src/server.ts";

const { values } = parseArgs({ options: { calls: { type: "string", default: "2000" } } });
const CALLS = Number(values.calls);
const ROOT = new URL("../../", import.meta.url).pathname;
const BIN = join(ROOT, "apps/server/bin/databook.js");

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

const dataDir = mkdtempSync(join(tmpdir(), "databook-bench-identity-"));
const plugins = mkdtempSync(join(tmpdir(), "databook-bench-plugins-"));
execFileSync("cp", ["-r", join(ROOT, "plugins/echo"), plugins]);
const server = await startServer({ host: "127.0.0.1", port: 0, grpcPort: 0, dataDir, pluginsDir: plugins });
const s = server.app.services;
const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, cpus: cpus().length };

try {
  // 1. the session check
  const owner = await s.accounts.create({ username: "olga", role: "member" });
  const session = (await s.sessions.start({ userId: owner.id }, "password")).secret;
  for (let i = 0; i < 2000; i++) await s.identities.resolve({ sessionSecret: session });
  const lookups: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const t0 = performance.now();
    await s.identities.resolve({ sessionSecret: session });
    lookups.push((performance.now() - t0) * 1000);
  }
  const cookie = `databook_session=${session}`;
  const timeRequests = async (headers: Record<string, string>, path: string) => {
    const xs: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t0 = performance.now();
      const r = await fetch(`${server.url}${path}`, { headers });
      await r.arrayBuffer();
      xs.push(performance.now() - t0);
    }
    return xs;
  };
  await timeRequests({ cookie }, "/api/auth/config");
  const anon = await timeRequests({}, "/api/auth/config");
  const signed = await timeRequests({ cookie }, "/api/auth/config");
  results.sessionCheck = {
    lookupP50Us: round(pct(lookups, 50), 1),
    lookupP99Us: round(pct(lookups, 99), 1),
    requestP50MsWithout: round(pct(anon, 50), 3),
    requestP50MsWith: round(pct(signed, 50), 3),
  };

  // 2. revocation → close
  const nb = await s.notebooks.create({
    title: "bench",
    actor: { kind: "user", id: owner.id, name: "olga" },
    ownerId: owner.id,
  });
  const openSocket = (headers: Record<string, string>) =>
    new Promise<{ closed: Promise<number> }>((resolve, reject) => {
      const ws = new WebSocket(`${server.url.replace("http", "ws")}/ws/notebooks/${nb.id}?v=${PROTOCOL_VERSION}`, {
        headers: { ...headers, origin: server.url },
      });
      const closed = new Promise<number>((r) => ws.on("close", () => r(performance.now())));
      ws.on("open", () => resolve({ closed }));
      ws.on("error", reject);
    });
  const inProcess: number[] = [];
  for (let i = 0; i < 30; i++) {
    const a = await s.accounts.create({ username: `m${i}`, role: "member" });
    await s.sharing.setRole(nb.id, { kind: "user", id: a.id }, "editor", { kind: "user", id: owner.id, name: "olga" });
    const secret = (await s.sessions.start({ userId: a.id }, "password")).secret;
    const sock = await openSocket({ cookie: `databook_session=${secret}` });
    const t0 = performance.now();
    await s.sharing.remove(nb.id, { kind: "user", id: a.id }, { kind: "user", id: owner.id, name: "olga" });
    inProcess.push((await sock.closed) - t0);
  }
  const fromCli: number[] = [];
  for (let i = 0; i < 8; i++) {
    const a = await s.accounts.create({ username: `c${i}`, role: "member" });
    const secret = (await s.sessions.start({ userId: a.id }, "password")).secret;
    const sock = await openSocket({ cookie: `databook_session=${secret}` });
    const closedAt = sock.closed.then(() => Date.now());
    // another process, asynchronously, so this server's event loop (and its poll) keeps running;
    // measured from the moment the command committed (its disabled_at_ms, wall clock) to the close
    await new Promise<void>((r) =>
      execFile(process.execPath, [BIN, "users", "disable", `c${i}`, "--data", dataDir], () => r()),
    );
    const committed = s.db!.prepare("SELECT disabled_at_ms FROM users WHERE id = ?").pluck().get(a.id) as number;
    fromCli.push((await closedAt) - committed);
  }
  results.revocation = {
    memberRemovedP50Ms: round(pct(inProcess, 50)),
    memberRemovedMaxMs: round(Math.max(...inProcess)),
    disabledFromCliP50Ms: round(pct(fromCli, 50)),
    disabledFromCliMaxMs: round(Math.max(...fromCli)),
    pollIntervalMs: 200,
  };

  // 3. authenticated Get against a caller-stamping baseline on the same host
  const token = (await s.tokens.create({ ownerId: owner.id, name: "bench", scopes: ["read", "run"] })).secret;
  const stamp: Interceptor = (next) => (req) => {
    req.contextValues.set(CALLER, { credential: "token", principal: { kind: "token", id: "bench", name: "bench" } });
    return next(req);
  };
  const bare = http2.createServer(connectNodeAdapter({ routes: pluginServiceRoutes(s.host), interceptors: [stamp] }));
  await new Promise<void>((r) => bare.listen(0, "127.0.0.1", () => r()));
  const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
  const bearer: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  const measure = async (transport: ReturnType<typeof createGrpcTransport>) => {
    const client = createClient(PluginService, transport);
    for (let i = 0; i < 200; i++) await client.get({ plugin: "echo", input: "warm" });
    const xs: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < CALLS; i++) {
      const a = performance.now();
      await client.get({ plugin: "echo", input: "hello" });
      xs.push(performance.now() - a);
    }
    return { p50Ms: round(pct(xs, 50), 3), callsPerS: Math.round(CALLS / ((performance.now() - t0) / 1000)) };
  };
  // interleaved rounds, so load on the machine hits both sides alike
  const rounds: Record<string, { p50Ms: number; callsPerS: number }[]> = {
    grpcAuth: [],
    grpcBare: [],
    connectAuth: [],
  };
  for (let r = 0; r < 3; r++) {
    rounds.grpcBare!.push(await measure(createGrpcTransport({ baseUrl: bareUrl })));
    rounds.grpcAuth!.push(await measure(createGrpcTransport({ baseUrl: server.grpcUrl!, interceptors: [bearer] })));
    rounds.connectAuth!.push(
      await measure(createConnectTransport({ baseUrl: server.url, httpVersion: "1.1", interceptors: [bearer] })),
    );
  }
  const median = (xs: { p50Ms: number; callsPerS: number }[]) => ({
    p50Ms: pct(
      xs.map((x) => x.p50Ms),
      50,
    ),
    callsPerS: pct(
      xs.map((x) => x.callsPerS),
      50,
    ),
  });
  const grpcAuth = median(rounds.grpcAuth!);
  const grpcBare = median(rounds.grpcBare!);
  results.get = {
    calls: CALLS,
    grpcAuthenticated: grpcAuth,
    grpcWithoutAuth: grpcBare,
    connectAuthenticated: median(rounds.connectAuth!),
    authShareOfCallP50: round((grpcAuth.p50Ms - grpcBare.p50Ms) / grpcAuth.p50Ms, 3),
    auditEntries: (await s.audit.list({ type: "grpc.call", limit: 1 })).length ? "written" : "missing",
  };
  await new Promise<void>((r) => bare.close(() => r()));
} finally {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(plugins, { recursive: true, force: true });
}

console.log(JSON.stringify(results, null, 2));
mkdirSync(join(ROOT, "bench/results"), { recursive: true });
writeFileSync(join(ROOT, "bench/results/identity.json"), `${JSON.stringify(results, null, 2)}\n`);
