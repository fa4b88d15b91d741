/**
 * @databook/plugin-host: loads plugin folders, validates config.toml, compiles each component
 * once and invokes it with a fresh, sandboxed instance per call in a pool of worker threads.
 * See docs/plugin-host.md.
 */

export type { ConfigResult, HostRule, Limits, PluginConfig } from "./config.ts";
export { CONFIG_SCHEMA, parseConfig, parseHostEntry } from "./config.ts";
export type {
  BrokenPlugin,
  CallTimes,
  CompleteResult,
  CompletionRequest,
  Failed,
  InvokeRequest,
  InvokeResult,
  LoadingPlugin,
  PluginHost,
  PluginHostOptions,
  PluginInfo,
  PluginLogLine,
  PreviewResult,
  ScheduleOptions,
} from "./host.ts";
export { createPluginHost, FAST_TIMEOUT_MS } from "./host.ts";
export type { OutboundContext } from "./http-proxy.ts";
// the same outbound check and send, for the server's own requests (notification webhooks)
export { sendOutbound } from "./http-proxy.ts";
export type { Connector, ConnectTarget, ResolvedAddress, Resolver } from "./net.ts";
export { systemConnector, systemResolver } from "./net.ts";
export type { HttpRequestMessage, HttpResponseMessage } from "./worker/wasi.ts";
