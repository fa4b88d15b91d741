import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { type RunningPostgres, startPostgres } from "@databook/test-services";
import { generateSigningKey } from "@databook/tlog";
import { CLOSE_CODES, closeReason, PROTOCOL_VERSION } from "@databook/wire";
import { type App, createApp } from "../src/app.ts";
import { readStoredDoc } from "../src/collab/docs.ts";
import { openPostgres } from "../src/db/postgres.ts";
import type { Sql } from "../src/db/sql.ts";
import { STORAGE_UNAVAILABLE } from "../src/http-errors.ts";
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

before(async () => {
  pg = await startPostgres();
  sql = openPostgres(await migratedDatabases(pg, "outage")(), { connectTimeoutMs: 1000 });
  app = await createApp({ sql, signingKey: generateSigningKey("storage-outage-test") });
  await app.app.listen({ host: "127.0.0.1", port: 0 });
  url = `http://127.0.0.1:${(app.app.server.address() as AddressInfo).port}`;
  ana = await people(url, app.services).user("ana");
});
after(async () => {
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
