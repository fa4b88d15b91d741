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
import { type HttpRequestSpec, parseHttpRequest, resolveHeaders } from "./parse.ts";
import { describeResponse, MAX_BODY_BYTES } from "./response.ts";

/** Redirect hops followed at most; each hop is a request the host checks against allowed_hosts. */
export const MAX_REDIRECTS = 4;
const REDIRECTS = [301, 302, 303, 307, 308];

/** What `describe()` answers. */
export const DESCRIPTION = {
  description:
    "Sends one HTTP request to an allow-listed internal API, written like an .http file (METHOD URL, headers, blank line, body), and shows the status, headers and body.",
  version: "0.1.0",
  options: [
    { name: "headers", description: "`all` shows every response header (except Set-Cookie); default: a useful few." },
    {
      name: "follow",
      description: `\`false\` shows a redirect instead of following it (default: follow up to ${MAX_REDIRECTS}).`,
    },
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
  const follow = call.options.boolean("follow") ?? true;
  const { res, url, hops } = await send(spec, headers, follow);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (err) {
    throw new PluginError("upstream", `${displayUrl(url)} closed the connection while answering: ${causeOf(err)}`);
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
  if (hops > 0) warnings.push(`followed ${hops} redirect${hops > 1 ? "s" : ""} to ${displayUrl(url)}`);
  if (body.truncated) warnings.push(`the body was cut to ${MAX_BODY_BYTES} of its ${body.bodyBytes} bytes`);
  return httpResponseOutput(body, warnings);
}

/**
 * Sends the request, following redirects one hop at a time (the engine's fetch does not), so the
 * host checks every hop against allowed_hosts. Like browsers: 303 — and 301/302 after a POST —
 * become a GET without body; credentials are not sent to another origin.
 * @throws PluginError (upstream) when a hop cannot be reached or there are too many hops.
 */
async function send(
  spec: HttpRequestSpec,
  headers: [string, string][],
  follow: boolean,
): Promise<{ res: Response; url: string; hops: number }> {
  let url = spec.url;
  let method = spec.method;
  let body = spec.body;
  let sendHeaders = headers;
  for (let hops = 0; ; hops++) {
    let res: Response;
    try {
      res = await fetch(url, { method, headers: sendHeaders, body, redirect: "manual" });
    } catch (err) {
      throw new PluginError("upstream", `could not reach ${displayUrl(url)}: ${causeOf(err)}`);
    }
    const location = res.headers.get("location");
    if (!follow || !REDIRECTS.includes(res.status) || !location) return { res, url, hops };
    if (hops === MAX_REDIRECTS) {
      throw new PluginError(
        "upstream",
        `${displayUrl(spec.url)} redirected more than ${MAX_REDIRECTS} times; stopped at ${displayUrl(url)}`,
      );
    }
    await res.arrayBuffer().catch(() => undefined);
    const next = new URL(location, url);
    if (next.origin !== new URL(url).origin) {
      sendHeaders = sendHeaders.filter(([k]) => !["authorization", "cookie"].includes(k.toLowerCase()));
    }
    if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === "POST")) {
      method = "GET";
      body = undefined;
      sendHeaders = sendHeaders.filter(([k]) => !["content-type", "content-length"].includes(k.toLowerCase()));
    }
    url = next.toString();
  }
}
