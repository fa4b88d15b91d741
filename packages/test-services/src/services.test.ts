import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, it } from "node:test";
import { startAlertmanager } from "./alertmanager.ts";
import { BULK_SERIES, FIXTURE_END_MS, fixtureOpenMetrics, parseOpenMetrics, TRICKY_LABEL_VALUE } from "./fixture.ts";
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

describe("requireBinary", () => {
  it("says which Debian package to install when a binary is missing", () => {
    assert.throws(
      () => requireBinary("/nonexistent/promtool", "prometheus"),
      /\/nonexistent\/promtool is missing: install Debian's prometheus \(run scripts\/ensure-system-packages.sh prometheus:promtool as root/,
    );
  });
});
