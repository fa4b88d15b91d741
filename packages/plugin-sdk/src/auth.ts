import type { Context } from "./define.ts";

/**
 * Authorization headers from a conventional set of env vars: `<PREFIX>_BEARER_TOKEN`, or
 * `<PREFIX>_USERNAME` + `<PREFIX>_PASSWORD` for basic auth. Values are read as secrets, so they are
 * scrubbed from everything the call returns or logs.
 * @param prefix e.g. `PROMETHEUS` → PROMETHEUS_BEARER_TOKEN, PROMETHEUS_USERNAME, PROMETHEUS_PASSWORD.
 * @returns `{ authorization }`, or `{}` when none is set.
 */
export function authHeaders(ctx: Context, prefix: string): Record<string, string> {
  const token = ctx.secret(`${prefix}_BEARER_TOKEN`);
  if (token) return { authorization: `Bearer ${token}` };
  const user = ctx.env(`${prefix}_USERNAME`);
  const password = ctx.secret(`${prefix}_PASSWORD`);
  if (user && password !== undefined) {
    const basic = btoa(String.fromCharCode(...new TextEncoder().encode(`${user}:${password}`)));
    ctx.hide(basic);
    return { authorization: `Basic ${basic}` };
  }
  return {};
}
