import {
  type Call,
  CONTENT_TYPES,
  type Context,
  causeOf,
  displayUrl,
  httpResponseOutput,
  PluginError,
  type PluginOutput,
} from "@databook/plugin-sdk";
import { parseHttpRequest, resolveHeaders } from "./parse.ts";
import { describeResponse, MAX_BODY_BYTES } from "./response.ts";

/** What `describe()` answers. */
export const DESCRIPTION = {
  description:
    "Sends one HTTP request to an allow-listed internal API, written like an .http file (METHOD URL, headers, blank line, body), and shows the status, headers and body.",
  version: "0.1.0",
  options: [
    { name: "headers", description: "`all` shows every response header (except Set-Cookie); default: a useful few." },
  ],
  contentTypes: [CONTENT_TYPES.http],
};

/**
 * Runs one cell: parses the request, fills `${VAR}` header references from the allowed env vars,
 * sends it (redirects are followed; the host re-checks every hop against allowed_hosts) and
 * describes the answer. Error statuses are results, not errors: the status is what the user asked.
 * @throws PluginError: bad-input for a malformed request, upstream when the server cannot be reached.
 */
export async function runHttp(call: Call, ctx: Context): Promise<PluginOutput> {
  const spec = parseHttpRequest(call.input);
  const allHeaders = call.options.oneOf("headers", ["all"] as const) === "all";
  const { headers, secrets } = resolveHeaders(spec.headers, (name) => ctx.env(name));
  for (const s of secrets) ctx.hide(s);
  let res: Response;
  try {
    res = await fetch(spec.url, { method: spec.method, headers, body: spec.body });
  } catch (err) {
    throw new PluginError("upstream", `could not reach ${displayUrl(spec.url)}: ${causeOf(err)}`);
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (err) {
    throw new PluginError("upstream", `${displayUrl(spec.url)} closed the connection while answering: ${causeOf(err)}`);
  }
  const body = describeResponse({
    method: spec.method,
    url: spec.url,
    status: res.status,
    statusText: res.statusText,
    headers: [...res.headers.entries()],
    bytes,
    allHeaders,
  });
  const warnings: string[] = [];
  if (res.redirected && res.url) warnings.push(`followed redirects to ${displayUrl(res.url)}`);
  if (body.truncated) warnings.push(`the body was cut to ${MAX_BODY_BYTES} of its ${body.bodyBytes} bytes`);
  return httpResponseOutput(body, warnings);
}
