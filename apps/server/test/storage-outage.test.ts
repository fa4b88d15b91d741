import assert from "node:assert/strict";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { type RunningPostgres, startPostgres } from "@databook/test-services";
import { generateSigningKey } from "@databook/tlog";
import { CLOSE_CODES, closeReason, PROTOCOL_VERSION } from "@databook/wire";
import { type App, createApp } from "../src/app.ts";
import { readStoredDoc } from "../src/collab/docs.ts";
import { openPostgres } from "../src/db/postgres.ts";
import type { Sql } from "../src/db/sql.ts";
import { pluginClient } from "../src/grpc/client.ts";
import { ERROR_KIND_HEADER } from "../src/grpc/errors.ts";
import { STORAGE_UNAVAILABLE } from "../src/http-errors.ts";
import { pluginServiceHandlers } from "../src/routes/connect.ts";
import { addCell, type Caller, cellText, people, rawSocket, waitFor } from "./helpers.ts";
import { migratedDatabases } from "./postgres-databases.ts";

// PostgreSQL stopped under a running node (issue 16), with real y-websocket clients: an edit that
// cannot be stored closes the editor's socket with STORAGE_UNAVAILABLE (the page says "not saved"
// and keeps it), REST answers 503 in words without saying where the database is, and once the
// database is back the client reconnects by itself and the sync stores what it typed meanwhile.

let pg: RunningPostgres;
let app: App;
let sql: Sql;
let url: string;
let ana: Caller;
let grpcServer: http2.Http2Server;
let grpcUrl: string;
const outageLog: string[] = [];

before(async () => {
  pg = await startPostgres();
  sql = openPostgres(await migratedDatabases(pg, "outage")(), { connectTimeoutMs: 1000 });
  app = await createApp({ sql, signingKey: generateSigningKey("storage-outage-test") });
  await app.app.listen({ host: "127.0.0.1", port: 0 });
  url = `http://127.0.0.1:${(app.app.server.address() as AddressInfo).port}`;
  ana = await people(url, app.services).user("ana");
  // the gRPC port as server.ts serves it: a bare HTTP/2 server with the same handlers
  const { routes, interceptors } = pluginServiceHandlers(app.services, (why) => outageLog.push(why));
  grpcServer = http2.createServer(connectNodeAdapter({ routes, interceptors }));
  await new Promise<void>((r) => grpcServer.listen(0, "127.0.0.1", r));
  grpcUrl = `http://127.0.0.1:${(grpcServer.address() as AddressInfo).port}`;
});
after(async () => {
  grpcServer?.close();
  await app?.shutdown();
  await sql?.close();
  await pg?.stop();
});

describe("PostgreSQL briefly down under a running node", () => {
  it("refuses an edit with STORAGE_UNAVAILABLE and REST with 503, then stores what was typed once it is back", async () => {
    const nb = (await ana.api("/api/notebooks", "POST", { title: "outage" })).body as { id: string };
    const editor = ana.ws(nb.id);
    const closes: number[] = [];
    editor.provider.on("connection-close", (e: CloseEvent | null) => e && closes.push(e.code));
    await editor.synced;
    const text = addCell(editor.doc, "c1", "@plugin=echo\nbefore");
    const storedText = async () => {
      const stored = await readStoredDoc(sql, nb.id).catch(() => undefined);
      return stored && cellText(stored, "c1")?.toString();
    };
    await waitFor(async () => (await storedText()) === "@plugin=echo\nbefore", "the first edit stored");

    const anaId = (await app.services.accounts.byUsername("ana"))!.id;
    const token = (await app.services.tokens.create({ ownerId: anaId, name: "outage", scopes: ["read"] })).secret;
    const connect = pluginClient(url, "connect", token);
    const grpc = pluginClient(grpcUrl, "grpc", token);
    await connect.listPlugins({});
    await grpc.listPlugins({});

    await pg.kill();
    text.insert(text.length, " typed while down");
    await waitFor(() => closes.includes(CLOSE_CODES.STORAGE_UNAVAILABLE), "the socket closed with 4503");
    assert.deepEqual(
      closes.filter((c) => c !== 1006),
      closes.filter((c) => c === CLOSE_CODES.STORAGE_UNAVAILABLE),
      "never 4500 (a generic failure) nor a final code: the page keeps reconnecting",
    );
    assert.match(closeReason(CLOSE_CODES.STORAGE_UNAVAILABLE)!, /database is unavailable/);

    // REST: 503 in words, with Retry-After, and nothing about where the database is
    const r = await fetch(`${url}/api/notebooks/${nb.id}`, { headers: ana.headers });
    assert.equal(r.status, 503);
    assert.equal(r.headers.get("retry-after"), "5");
    const body = (await r.json()) as { error: { kind: string; message: string } };
    assert.deepEqual(body.error, STORAGE_UNAVAILABLE);
    assert.ok(!body.error.message.includes(String(pg.port)) && !/PostgreSQL|127\.0\.0\.1/.test(body.error.message));
    const signIn = await fetch(`${url}/api/auth/signin`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: url },
      body: JSON.stringify({ username: "ana", password: "whatever-it-is" }),
    });
    assert.equal(signIn.status, 503, "a sign-in is not refused as a wrong password");
    // a socket opened meanwhile is refused at the upgrade with the same 503 (the page keeps its banner)
    const late = rawSocket(`${url.replace(/^http/, "ws")}/ws/notebooks/${nb.id}?v=${PROTOCOL_VERSION}`, ana.headers);
    assert.equal(await late.refused, 503);

    // the gRPC port (no Fastify hook in front): UNAVAILABLE, kind upstream, REST's words — not
    // where the database is. (The web port's Connect route is refused by the REST 503 above, in
    // its auth hook, before Connect runs: a Connect client reads that as UNAVAILABLE too.)
    for (const [client, viaGrpc] of [
      [grpc, true],
      [connect, false],
    ] as const) {
      const failed = await client.listPlugins({}).then(
        () => assert.fail("ListPlugins answered while the database was down"),
        (e) => ConnectError.from(e),
      );
      assert.equal(failed.code, Code.Unavailable);
      assert.ok(!failed.message.includes(String(pg.port)) && !/PostgreSQL|127\.0\.0\.1/.test(failed.message));
      if (viaGrpc) {
        assert.equal(failed.metadata.get(ERROR_KIND_HEADER), "upstream");
        assert.equal(failed.rawMessage, STORAGE_UNAVAILABLE.message);
      }
    }
    assert.ok(
      outageLog.some((l) => l.includes(String(pg.port))),
      "where the database is goes to the server log",
    );

    await pg.start();
    await waitFor(async () => editor.provider.synced && editor.provider.wsconnected, "reconnected and synced", 20_000);
    await waitFor(
      async () => (await storedText()) === "@plugin=echo\nbefore typed while down",
      "what was typed while PostgreSQL was down is stored",
      20_000,
    );
    editor.destroy();
  });
});
