import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { startAlertmanager } from "./alertmanager.ts";
import { BULK_SERIES, FIXTURE_END_MS, fixtureOpenMetrics, parseOpenMetrics, TRICKY_LABEL_VALUE } from "./fixture.ts";
import { POSTGRES_BIN_DIR, startPostgres } from "./postgres.ts";
import { requireBinary } from "./process.ts";
import { startPrometheus } from "./prometheus.ts";

describe("the OpenMetrics fixture", () => {
  it("is deterministic and parses back to its series", () => {
    const text = fixtureOpenMetrics();
    assert.equal(text, fixtureOpenMetrics());
    assert.ok(text.endsWith("# EOF\n"));
    const series = [...parseOpenMetrics(text).values()];
    assert.ok(series.length > BULK_SERIES, `${series.length} series`);
    const tricky = series.find((s) => s.labels.__name__ === "fixture_labels");
    assert.equal(tricky?.labels.path, TRICKY_LABEL_VALUE);
  });
});

describe("startPrometheus", () => {
  it("serves the backfilled fixture on loopback and cleans up its dir", async () => {
    const prom = await startPrometheus();
    try {
      assert.match(prom.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${prom.url}/api/v1/query?query=count(fixture_bulk)&time=${FIXTURE_END_MS / 1000}`);
      const json = (await res.json()) as { data: { result: { value: [number, string] }[] } };
      assert.equal(json.data.result[0]?.value[1], String(BULK_SERIES));
    } finally {
      await prom.stop();
    }
    assert.equal(existsSync(prom.dir), false);
  });
});

describe("startAlertmanager", () => {
  it("answers its v2 API on loopback", async () => {
    const am = await startAlertmanager();
    try {
      const res = await fetch(`${am.url}/api/v2/status`);
      assert.equal(res.status, 200);
      const json = (await res.json()) as { cluster: { status: string } };
      assert.equal(typeof json.cluster.status, "string");
    } finally {
      await am.stop();
    }
    assert.equal(existsSync(am.dir), false);
  });
});

describe("startPostgres", () => {
  const psqlAt = async (url: string, sql: string) =>
    (await promisify(execFile)(`${POSTGRES_BIN_DIR}/psql`, ["-X", "-A", "-t", "-c", sql, url])).stdout.trim();

  it("serves a database over TCP with the password, survives a crash, and cleans up its dir", async () => {
    const pg = await startPostgres();
    try {
      assert.match(pg.url, /^postgres:\/\/databook:[0-9a-f]+@127\.0\.0\.1:\d+\/databook$/);
      assert.equal(
        await psqlAt(pg.url, "SELECT current_user || ' ' || current_database() || ' ' || 6 * 7"),
        "databook databook 42",
      );
      const wrong = pg.url.replace(pg.password, "wrong");
      await assert.rejects(psqlAt(wrong, "SELECT 1"), /password authentication failed/);
      const other = await pg.createDatabase("second");
      await psqlAt(other, "CREATE TABLE t (x BIGINT); INSERT INTO t VALUES (1)");
      await pg.kill();
      await assert.rejects(psqlAt(other, "SELECT 1"), /connection|refused/i);
      await pg.start();
      assert.equal(await psqlAt(other, "SELECT count(*) FROM t"), "1");
      await pg.restart();
      assert.equal(await pg.psql("SELECT rolsuper FROM pg_roles WHERE rolname = 'databook'"), "f\n");
    } finally {
      await pg.stop();
    }
    assert.equal(existsSync(pg.dataDir), false);
  });

  it("gives two clusters started from the one cached initdb their own data, and copies a template database", async () => {
    const [a, b] = await Promise.all([startPostgres(), startPostgres()]);
    try {
      assert.notEqual(a.dataDir, b.dataDir);
      await psqlAt(a.url, "CREATE TABLE only_in_a (x BIGINT); INSERT INTO only_in_a VALUES (7)");
      assert.equal(await b.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'", "databook"), "0\n");
      const copy = await a.createDatabase("copy_of_a", { template: "databook" });
      assert.equal(await psqlAt(copy, "SELECT x FROM only_in_a"), "7");
      assert.equal(await psqlAt(copy, "SELECT current_database() || ' ' || current_user"), "copy_of_a databook");
      await psqlAt(copy, "INSERT INTO only_in_a VALUES (8)"); // the app role owns the copy's tables too
      assert.equal(await psqlAt(a.url, "SELECT count(*) FROM only_in_a"), "1", "the template is unchanged");
      await assert.rejects(a.createDatabase("x; DROP DATABASE databook", {}), /must match/);
      await assert.rejects(a.createDatabase("y", { template: "databook; DROP DATABASE databook" }), /must match/);
      await assert.rejects(a.createDatabase("z", { template: "no_such_db" }), /does not exist/);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it("says which Debian package to install when the binaries are missing", async () => {
    await assert.rejects(
      startPostgres({ binDir: "/nonexistent/postgresql/bin" }),
      /\/nonexistent\/postgresql\/bin\/initdb is missing: install Debian's postgresql/,
    );
  });
});

describe("requireBinary", () => {
  it("says which Debian package to install when a binary is missing", () => {
    assert.throws(
      () => requireBinary("/nonexistent/promtool", "prometheus"),
      /\/nonexistent\/promtool is missing: install Debian's prometheus \(run scripts\/ensure-system-packages.sh prometheus:promtool as root/,
    );
  });
});
