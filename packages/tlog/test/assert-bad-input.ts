import assert from "node:assert/strict";

/** Asserts `fn` throws the package's typed error `{ kind: "bad-input", message }` with a message matching `pattern`. */
export function assertBadInput(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.equal((e as { kind?: unknown }).kind, "bad-input");
    assert.match((e as { message: string }).message, pattern);
    return true;
  });
}
