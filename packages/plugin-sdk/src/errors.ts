import type { WitErrorKind } from "./wit.ts";

/** The error kinds a plugin may return itself; the host adds the others (timeout, limits…). */
export type PluginErrorKind = Extract<WitErrorKind, "bad-input" | "upstream" | "denied" | "internal">;

/**
 * A failure the plugin reports to the user: thrown anywhere inside `invoke`, turned by
 * `definePlugin` into the WIT's `plugin-error` result. `message` is shown as is, so it says what
 * went wrong and, for `bad-input`, how to fix it.
 */
export class PluginError extends Error {
  readonly kind: PluginErrorKind;
  constructor(kind: PluginErrorKind, message: string) {
    super(message);
    this.name = "PluginError";
    this.kind = kind;
  }
}

/** Throws a `bad-input` error: the cell's input or options are wrong. */
export function badInput(message: string): never {
  throw new PluginError("bad-input", message);
}

/** Throws an `upstream` error: the system the plugin talks to failed or answered with an error. */
export function upstream(message: string): never {
  throw new PluginError("upstream", message);
}

/** Throws a `denied` error: the plugin refuses the operation. */
export function denied(message: string): never {
  throw new PluginError("denied", message);
}

/** True for errors that carry a user-facing kind (`PluginError`, or cell-syntax's bad-input errors). */
export function isKindedError(err: unknown): err is Error & { kind: PluginErrorKind } {
  if (!(err instanceof Error)) return false;
  const kind = (err as { kind?: unknown }).kind;
  return kind === "bad-input" || kind === "upstream" || kind === "denied" || kind === "internal";
}
