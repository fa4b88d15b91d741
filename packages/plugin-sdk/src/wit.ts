/// <reference path="../gen/action-preview-completion-plugin.d.ts" />
/**
 * The plugin worlds' types as the WIT defines them, generated from wit/ into gen/ by this package's
 * build (`jco` guest types). Re-exported under `Wit*` names so plugin code can tell the raw WIT
 * shapes (s64 fields are `bigint`, variants are `{ tag, val }`) from the SDK's friendlier ones.
 */

export type { ActionEffect as WitActionEffect } from "databook:plugin/action-preview@0.1.0";
export type {
  CompletionQuery as WitCompletionQuery,
  CompletionRequest as WitCompletionRequest,
  CompletionResult as WitCompletionResult,
  MetricMetadata as WitMetricMetadata,
} from "databook:plugin/completion@0.1.0";
export type { LogLevel } from "databook:plugin/runtime@0.1.0";
export type {
  Description as WitDescription,
  ErrorKind as WitErrorKind,
  OptionSpec as WitOptionSpec,
  Output as WitOutput,
  PluginError as WitPluginError,
  Request as WitRequest,
  TimeRange as WitTimeRange,
} from "databook:plugin/types@0.1.0";
