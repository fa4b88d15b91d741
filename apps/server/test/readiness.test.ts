import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { startPostgres } from "@databook/test-services";
import { generateSigningKey } from "@databook/tlog";
import { createApp } from "../src/app.ts";
import { openPostgres } from "../src/db/postgres.ts";
import { migratePostgres } from "../src/db/postgres-migrate.ts";
import { api, startApp, tempDir } from "./helpers.ts";

// Liveness and readiness for balancers: /healthz answers while the process runs; /readyz only
// while the node can serve — its database answers and it is not shutting down — and says why not.

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe("readiness", () => {
  it("is ready on its database, and answers 503 (still alive) from the moment shutdown starts", async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const s = await startApp(t.dir);
    const ready = await api(`${s.url}/readyz`, "GET");
    assert.equal(ready.status, 200);
    assert.equal(ready.body.ok, true);
    assert.match(ready.body.storage, /^(sqlite|postgres)$/);
    // a foreign Host is answered as for /healthz: balancers probe by address
    const foreign = await fetch(`${s.url}/readyz`, { headers: { host: "balancer.internal" } });
    assert.equal(foreign.status, 200);
    // while shutdown runs (storing documents, signing) a balancer must stop sending new pages
    s.services.lifecycle.shuttingDown = true;
    const during = await api(`${s.url}/readyz`, "GET");
    assert.equal(during.status, 503);
    assert.match(during.body.error.message, /shutting down/);
    assert.equal((await api(`${s.url}/healthz`, "GET")).status, 200, "alive: only not ready");
    s.services.lifecycle.shuttingDown = false;
    const stopping = s.stop();
    assert.equal(s.services.lifecycle.shuttingDown, true, "shutdown raises the flag before its first await");
    await stopping;
  });

  it("on PostgreSQL: the database down makes it 503 with the reason, /healthz stays 200, and it recovers", async () => {
    const pg = await startPostgres();
    cleanups.push(() => pg.stop());
    await migratePostgres(pg.url);
    const sql = openPostgres(pg.url, { connectTimeoutMs: 1000 });
    const a = await createApp({ sql, signingKey: generateSigningKey("readiness-test") });
    await a.app.listen({ host: "127.0.0.1", port: 0 });
    cleanups.push(async () => {
      await a.shutdown();
      await sql.close();
    });
    const url = `http://127.0.0.1:${(a.app.server.address() as { port: number }).port}`;
    assert.deepEqual((await api(`${url}/readyz`, "GET")).body, { ok: true, storage: "postgres" });

    await pg.kill();
    const down = await api(`${url}/readyz`, "GET");
    assert.equal(down.status, 503);
    assert.equal(down.body.error.kind, "upstream");
    assert.match(down.body.error.message, /the database is not answering/);
    assert.ok(!/127\.0\.0\.1|databook@|5432|\d{4,5}/.test(down.body.error.message), "nothing about where it is");
    assert.ok(!down.body.error.message.includes(pg.password), "no password in the answer");
    assert.equal((await api(`${url}/healthz`, "GET")).status, 200, "alive: only not ready");

    await pg.start();
    let back = await api(`${url}/readyz`, "GET");
    for (let i = 0; i < 50 && back.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      back = await api(`${url}/readyz`, "GET");
    }
    assert.equal(back.status, 200, JSON.stringify(back.body));
  });
});
