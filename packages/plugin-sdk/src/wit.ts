/// <reference path="../gen/plugin.d.ts" />
/**
 * The plugin world's types as the WIT defines them, generated from wit/ into gen/ by this package's
 * build (`jco` guest types). Re-exported under `Wit*` names so plugin code can tell the raw WIT
 * shapes (s64 fields are `bigint`) from the SDK's friendlier ones.
 */

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
