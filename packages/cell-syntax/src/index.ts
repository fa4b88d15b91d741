export { CellSyntaxError } from "./errors.ts";
export {
  DISPLAY_KEYS,
  formatHeaderValue,
  type ParsedCell,
  parseCell,
  RESERVED_KEYS,
  type ReservedDisplayKeys,
  type ReservedKey,
  type ReservedKeys,
  type ReservedRunbookKeys,
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
  type TimeRangeContext,
  type TimeRangeSetting,
} from "./time.ts";
