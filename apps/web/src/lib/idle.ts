/**
 * Calls `fn` at the browser's next idle moment, or after `timeoutMs` at the latest (a setTimeout
 * where requestIdleCallback is missing). Returns the cancel function, shaped for `$effect`'s
 * teardown.
 */
export function whenIdle(fn: () => void, timeoutMs: number): () => void {
  if (typeof requestIdleCallback === "function") {
    const id = requestIdleCallback(fn, { timeout: timeoutMs });
    return () => cancelIdleCallback(id);
  }
  const t = setTimeout(fn, Math.min(timeoutMs, 16));
  return () => clearTimeout(t);
}
