import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fixtureOpenMetrics } from "./fixture.ts";
import { requireBinary, startInTempDir } from "./process.ts";

const run = promisify(execFile);

/** Debian's binaries (package `prometheus`). */
export const PROMETHEUS_BIN = "/usr/bin/prometheus";
export const PROMTOOL_BIN = "/usr/bin/promtool";

/** A running Prometheus on loopback. `url` has no trailing slash; `stop()` ends it and removes its dir. */
export type RunningPrometheus = { url: string; dir: string; stop: () => Promise<void> };

/**
 * Starts Debian's Prometheus on 127.0.0.1 with a free port and a temp dir, loaded with
 * OpenMetrics data via `promtool tsdb create-blocks-from openmetrics` (no scrape targets unless
 * `scrapeTargets`; 100-year retention, so queries at the data's timestamps always see it).
 * @param opts.openMetrics OpenMetrics text to load (default: {@link fixtureOpenMetrics}); or
 *   `opts.openMetricsFile`, a path to such a file.
 * @param opts.scrapeTargets `host:port`s (loopback) to scrape every second, as job `test`: what a
 *   test needs for metric metadata (`/api/v1/metadata`), which backfilled blocks do not carry.
 * @param opts.rules a rule file's text (alerting or recording rules), evaluated every
 *   `opts.evaluationInterval` (default `1h`; `1s` for alerts that fire at once), whose alerts go to
 *   `opts.alertmanagerUrl` when given (sent again every evaluation interval).
 * @throws Error when the binaries are missing, the backfill fails or the server does not start.
 */
export async function startPrometheus(
  opts: {
    openMetrics?: string;
    openMetricsFile?: string;
    scrapeTargets?: string[];
    rules?: string;
    evaluationInterval?: string;
    alertmanagerUrl?: string;
  } = {},
): Promise<RunningPrometheus> {
  requireBinary(PROMETHEUS_BIN, "prometheus");
  requireBinary(PROMTOOL_BIN, "prometheus");
  const dir = await mkdtemp(join(tmpdir(), "databook-prometheus-"));
  try {
    let file = opts.openMetricsFile;
    if (!file) {
      file = join(dir, "fixture.om");
      await writeFile(file, opts.openMetrics ?? fixtureOpenMetrics());
    }
    const data = join(dir, "data");
    try {
      await run(PROMTOOL_BIN, ["tsdb", "create-blocks-from", "openmetrics", file, data], { maxBuffer: 16 << 20 });
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string };
      throw new Error(`promtool could not load ${file}: ${e.stderr || e.stdout || e.message}`);
    }
    const config = join(dir, "prometheus.yml");
    const scrape = opts.scrapeTargets?.length
      ? `scrape_configs:\n  - job_name: test\n    scrape_interval: 1s\n    static_configs:\n      - targets: ${JSON.stringify(opts.scrapeTargets)}\n`
      : "scrape_configs: []\n";
    let yml = `global:\n  evaluation_interval: ${opts.evaluationInterval ?? "1h"}\n${scrape}`;
    if (opts.rules !== undefined) {
      await writeFile(join(dir, "rules.yml"), opts.rules);
      yml += `rule_files:\n  - ${join(dir, "rules.yml")}\n`;
    }
    if (opts.alertmanagerUrl) {
      const am = new URL(opts.alertmanagerUrl);
      yml += `alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ["${am.host}"]\n`;
    }
    await writeFile(config, yml);
    return await startInTempDir({
      name: "prometheus",
      bin: PROMETHEUS_BIN,
      dir,
      args: (port) => [
        `--config.file=${config}`,
        `--storage.tsdb.path=${data}`,
        "--storage.tsdb.retention.time=100y",
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn",
        // the first send races the discovery of the Alertmanager and is dropped: send again at once
        ...(opts.alertmanagerUrl ? [`--rules.alert.resend-delay=${opts.evaluationInterval ?? "1m"}`] : []),
      ],
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
