import type { DatabookError } from "@databook/wire";

/**
 * Throws the one error this package raises: `{ kind: "bad-input", message }` (a `DatabookError`
 * from `@databook/wire`). Malformed input and a proof or signature that does not verify are both
 * bad input: the caller handed over something that is not what it claims to be.
 */
export function badInput(message: string): never {
  throw { kind: "bad-input", message } satisfies DatabookError;
}

/** True when `e` is a `{ kind, message }` error object (what {@link badInput} throws). */
export function isDatabookError(e: unknown): e is DatabookError {
  return (
    typeof e === "object" &&
    e !== null &&
    typeof (e as { kind?: unknown }).kind === "string" &&
    typeof (e as { message?: unknown }).message === "string"
  );
}
