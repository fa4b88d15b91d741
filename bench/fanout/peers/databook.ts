// Databook as a benchmark peer: the real server (persistence on: SQLite in WAL mode, every update
// stored before it is broadcast) in this process, on a free loopback port, with a fresh data dir,
// one account signed in through the real sign-in route, and one notebook it owns. Prints
// {"peer":"databook","port","pid","room","cookie"} once listening: the bench connects to
// ws://127.0.0.1:PORT/ws/notebooks/{room}?v=2 sending that session cookie and the page's Origin,
// as a signed-in browser does. SIGTERM stops it.
// Run with Node 24 (scripts/node24.sh): `node bench/fanout/peers/databook.ts`.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "../../../apps/server/src/server.ts";

const dataDir = mkdtempSync(join(tmpdir(), "databook-bench-"));
const server = await startServer({ host: "127.0.0.1", port: 0, grpcPort: false, dataDir });
await server.app.services.accounts.create({ username: "bench", password: "bench-password-1", role: "member" });
const signin = await fetch(`${server.url}/api/auth/signin`, {
  method: "POST",
  headers: { "content-type": "application/json", origin: server.url },
  body: JSON.stringify({ username: "bench", password: "bench-password-1" }),
});
const cookie = (signin.headers.get("set-cookie") ?? "").split(";")[0]!;
const res = await fetch(`${server.url}/api/notebooks`, {
  method: "POST",
  headers: { "content-type": "application/json", origin: server.url, cookie },
  body: JSON.stringify({ title: "fan-out bench" }),
});
const nb = (await res.json()) as { id: string };
const port = Number(new URL(server.url).port);
process.stdout.write(
  `${JSON.stringify({ peer: "databook", port, pid: process.pid, room: nb.id, cookie, origin: server.url, node: process.version, dataDir })}\n`,
);
const stop = async () => {
  setTimeout(() => process.exit(0), 5000).unref();
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
