/**
 * @databook/plugin-sdk — the kit for writing Databook plugins in TypeScript. This entry has no
 * host imports, so it also runs under Node (unit tests of a plugin's helpers); a plugin's entry
 * file imports `@databook/plugin-sdk/plugin` for `definePlugin`.
 */

export { formatDuration, parseDuration, parseTime } from "@databook/cell-syntax";
export {
  CONTENT_TYPES,
  type CompletionQuery,
  type HttpResponseBody,
  type LabelMatcher,
  type LogLine,
  type LogsBody,
  type MetricMetadata,
  type NativeHistogram,
  type Point,
  type Series,
  type TableBody,
  type TableColumn,
  type TimeseriesBody,
} from "@databook/wire";
export { authHeaders } from "./auth.ts";
export {
  type ActionPreview,
  type ActionPreviewExport,
  type Call,
  type CompletionCall,
  type CompletionExport,
  type CompletionOutput,
  type Context,
  createPlugin,
  type ExportsOf,
  type OptionDoc,
  type PluginDescription,
  type PluginExports,
  type PluginSpec,
  type Runtime,
  type TimeRange,
} from "./define.ts";
export { badInput, denied, isKindedError, PluginError, type PluginErrorKind, upstream } from "./errors.ts";
export { causeOf, displayUrl, type FetchJsonInit, fetchJson, type JsonResponse, quoteBody } from "./http.ts";
export { type Options, readOptions } from "./options.ts";
export {
  httpResponseOutput,
  jsonOutput,
  logsOutput,
  markdownOutput,
  type PluginOutput,
  parseSampleValue,
  sampleValue,
  seriesName,
  tableOutput,
  textOutput,
  timeseriesOutput,
} from "./output.ts";
export { REDACTED, redactUrl, scrub } from "./secrets.ts";
export type {
  LogLevel,
  WitActionEffect,
  WitCompletionQuery,
  WitCompletionRequest,
  WitCompletionResult,
  WitDescription,
  WitMetricMetadata,
  WitOutput,
  WitPluginError,
  WitRequest,
  WitTimeRange,
} from "./wit.ts";
