/**
 * The one list of error kinds, shared by the WIT (`databook:plugin/types.error-kind`), the plugin
 * host, the gRPC mapping and the UI. A plugin returns one of the first four; the host the rest.
 */
export const ERROR_KINDS = [
  "bad-input",
  "upstream",
  "denied",
  "internal",
  "not-found",
  "timeout",
  "memory-limit",
  "output-limit",
  "too-many-requests",
  "plugin-broken",
] as const;

/** One of {@link ERROR_KINDS}. */
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** A typed error as it crosses a package or process boundary. `message` is shown to users as is. */
export type DatabookError = { kind: ErrorKind; message: string };

/** True when `value` is one of {@link ERROR_KINDS}. */
export function isErrorKind(value: unknown): value is ErrorKind {
  return typeof value === "string" && (ERROR_KINDS as readonly string[]).includes(value);
}

/** A short human title per kind, for error boxes and the CLI ("Timed out: …"). */
export const ERROR_TITLES: Record<ErrorKind, string> = {
  "bad-input": "Bad input",
  upstream: "Upstream error",
  denied: "Denied",
  internal: "Plugin error",
  "not-found": "Unknown plugin",
  timeout: "Timed out",
  "memory-limit": "Memory limit",
  "output-limit": "Output too large",
  "too-many-requests": "Too many requests",
  "plugin-broken": "Plugin broken",
};
