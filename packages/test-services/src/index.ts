/**
 * @databook/test-services — real servers for tests: Debian's Prometheus (loaded with a
 * deterministic OpenMetrics fixture), Alertmanager, PostgreSQL and redis-server on loopback, plus small
 * HTTP servers, a TCP proxy that can be cut and a balancer in front of several servers.
 */
export { ALERTMANAGER_BIN, type RunningAlertmanager, startAlertmanager } from "./alertmanager.ts";
export { type Balancer, startBalancer } from "./balancer.ts";
export {
  MADE_UP_GAUGE,
  MADE_UP_SERIES,
  openMetricsWithMadeUp,
  startMadeUpExporter,
} from "./completion-fixture.ts";
export {
  BULK_SERIES,
  bucketAt,
  FIXTURE_END_MS,
  FIXTURE_INTERVAL_MS,
  FIXTURE_START_MS,
  type FixtureSeries,
  fixtureOpenMetrics,
  HISTOGRAM_BOUNDS,
  parseOpenMetrics,
  requestsAt,
  seriesKey,
  TRICKY_LABEL_VALUE,
} from "./fixture.ts";
export { startBearerProxy, startHttpServer, type TestServer } from "./http-servers.ts";
export { type OidcTestPerson, type RunningOidcProvider, startOidcProvider } from "./oidc-provider.ts";
export { type StagedPlugins, setTomlKey, stagePlugins } from "./plugins-dir.ts";
export { POSTGRES_APP_ROLE, POSTGRES_BIN_DIR, type RunningPostgres, startPostgres } from "./postgres.ts";
export { freePort, requireBinary } from "./process.ts";
export { PROMETHEUS_BIN, PROMTOOL_BIN, type RunningPrometheus, startPrometheus } from "./prometheus.ts";
export { REDIS_SERVER_BIN, type RunningRedis, startRedis } from "./redis.ts";
export { startTcpProxy, type TcpProxy } from "./tcp-proxy.ts";
