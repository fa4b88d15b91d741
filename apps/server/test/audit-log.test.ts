import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Principal, SYSTEM_PRINCIPAL } from "@databook/wire";
import { createAudit, FAILURES_LOGGED_PER_MINUTE } from "../src/audit.ts";
import { openDatabase } from "../src/db/open.ts";
import type { Sql } from "../src/db/sql.ts";
import { sqliteSql } from "../src/db/sqlite.ts";
import { AUDIT_CHAIN } from "../src/log/store.ts";
import { verifyLog } from "../src/log/verify.ts";
import { tempDir } from "./helpers.ts";

// The audit log on the async Sql interface (src/audit.ts) over a real SQLite file: the flood
// limit on failed sign-ins holds when failures arrive at once, list() filters in SQL, and an entry
// recorded in a caller's transaction goes with it.

const ann: Principal = { kind: "user", id: "u-ann", name: "Ann" };
const bea: Principal = { kind: "user", id: "u-bea", name: "Bea" };

let t: ReturnType<typeof tempDir>;
let db: ReturnType<typeof openDatabase>;
let sql: Sql;
before(() => {
  t = tempDir("databook-audit-");
  db = openDatabase({ dataDir: t.dir });
  sql = sqliteSql(db);
});
after(async () => {
  await sql.close();
  t.cleanup();
});

describe("audit log", () => {
  it("a flood of failures from one address at once writes the limit, then one summary of the rest", async () => {
    let now = 1_790_000_000_000;
    const audit = createAudit(sql, () => now);
    const extra = 7;
    await Promise.all(
      Array.from({ length: FAILURES_LOGGED_PER_MINUTE + extra }, (_, i) =>
        audit.failure("198.51.100.7", { via: "password", i }),
      ),
    );
    await audit.failure("203.0.113.9", { via: "password" }); // another address has its own limit
    assert.equal((await audit.list({ type: "auth.failed" })).length, FAILURES_LOGGED_PER_MINUTE + 1);
    now += 60_000;
    await audit.failure("198.51.100.7", { via: "password", i: "next minute" });
    const summaries = await audit.list({ type: "auth.failures-suppressed" });
    assert.equal(summaries.length, 1);
    assert.deepEqual(summaries[0]?.data, { address: "198.51.100.7", count: extra, sinceMs: now - 60_000 });
    assert.equal((await audit.list({ type: "auth.failed" })).length, FAILURES_LOGGED_PER_MINUTE + 2);
    assert.deepEqual(await verifyLog(sql, { table: "audit_entries", notebookId: AUDIT_CHAIN }), {
      ok: true,
      entries: FAILURES_LOGGED_PER_MINUTE + 3,
      notebooks: 1,
    });
  });

  it("lists newest first, by type, actor and before a seq, at most the limit", async () => {
    const audit = createAudit(sql);
    const mine = [];
    for (let i = 0; i < 5; i++) mine.push(await audit.record("token.created", i % 2 ? bea : ann, { i }));
    const annOnly = await audit.list({ actorId: ann.id, type: "token.created" });
    assert.deepEqual(
      annOnly.map((e) => e.data.i),
      [4, 2, 0],
    );
    const before = await audit.list({ type: "token.created", beforeSeq: mine[3]!.seq, limit: 2 });
    assert.deepEqual(
      before.map((e) => e.seq),
      [mine[2]!.seq, mine[1]!.seq],
    );
    assert.equal((await audit.list({ actorId: "'; DROP TABLE audit_entries; --" })).length, 0);
  });

  it("an entry recorded in a caller's transaction is rolled back with it", async () => {
    const audit = createAudit(sql);
    const count = async () => (await audit.list({ type: "account.changed", limit: 1000 })).length;
    const before = await count();
    await assert.rejects(
      sql.transaction(async (tx) => {
        await audit.record("account.changed", SYSTEM_PRINCIPAL, { accountId: "a1" }, tx);
        throw { kind: "internal", message: "the change failed after the entry" };
      }),
      { kind: "internal" },
    );
    assert.equal(await count(), before);
    await sql.transaction((tx) => audit.record("account.changed", SYSTEM_PRINCIPAL, { accountId: "a1" }, tx));
    assert.equal(await count(), before + 1);
    assert.equal((await verifyLog(sql, { table: "audit_entries", notebookId: AUDIT_CHAIN })).ok, true);
  });
});
