/**
 * Data that only completion tests have: a made-up metric with a made-up label value, added to the
 * OpenMetrics fixture (so names come from the backfilled blocks), and a loopback exporter of one
 * made-up gauge with HELP and TYPE for Prometheus to scrape (metadata exists only for scraped
 * metrics). A name completed from a real Prometheus that equals one of these came from it.
 */
import { FIXTURE_INTERVAL_MS, FIXTURE_START_MS, fixtureOpenMetrics } from "./fixture.ts";
import { startHttpServer, type TestServer } from "./http-servers.ts";

/** The made-up counter of the backfilled data: its name, one label and that label's only value. */
export const MADE_UP_SERIES = {
  metric: "databook_contract_widgets_total",
  label: "shade",
  value: "ultramarine-7f3e",
} as const;

/** The made-up gauge the exporter serves, with its help text. */
export const MADE_UP_GAUGE = {
  metric: "databook_contract_gizmos",
  help: "Gizmos counted by the completion test's exporter (made up).",
} as const;

/** {@link fixtureOpenMetrics} plus {@link MADE_UP_SERIES}, one sample a minute over the fixture hour. */
export function openMetricsWithMadeUp(): string {
  const { metric, label, value } = MADE_UP_SERIES;
  const lines = [
    `# HELP ${metric.replace(/_total$/, "")} Widgets (made up).`,
    `# TYPE ${metric.replace(/_total$/, "")} counter`,
  ];
  for (let m = 0; m <= 60; m++)
    lines.push(
      `${metric}{job="widgets",${label}="${value}"} ${m * 2} ${(FIXTURE_START_MS + m * FIXTURE_INTERVAL_MS) / 1000}`,
    );
  return fixtureOpenMetrics().replace(/# EOF\n$/, `${lines.join("\n")}\n# EOF\n`);
}

/** Starts the exporter of {@link MADE_UP_GAUGE}; `target` is its `host:port` for scrape configs. */
export async function startMadeUpExporter(): Promise<TestServer & { target: string }> {
  const server = await startHttpServer((_req, _body, res) => {
    res.setHeader("content-type", "text/plain; version=0.0.4");
    const { metric, help } = MADE_UP_GAUGE;
    res.end(`# HELP ${metric} ${help}\n# TYPE ${metric} gauge\n${metric}{color="vermilion-19"} 3\n`);
  });
  return { ...server, target: `127.0.0.1:${server.port}` };
}
