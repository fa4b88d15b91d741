export { CellSyntaxError } from "./errors.ts";
export {
  formatHeaderValue,
  type ParsedCell,
  parseCell,
  RESERVED_KEYS,
  type ReservedKey,
  type ReservedTimeKeys,
} from "./header.ts";
export {
  formatDuration,
  formatTimeRangeSetting,
  MAX_DURATION_MS,
  parseDuration,
  parseTime,
  type ResolvedTimeRange,
  resolveSetting,
  resolveTimeRange,
  type TimeRangeSetting,
} from "./time.ts";
