/**
 * Sends one outbound request of a plugin, on the main thread, after {@link checkOutbound} has
 * allowed it: undici speaks HTTP/1.1 over the socket that the {@link Connector} opened to the
 * checked address. Redirects are not followed here: the plugin's fetch() follows them itself by
 * sending a new request, which goes through the same check (each hop re-checked).
 */
import { Client } from "undici";
import type { HostRule } from "./config.ts";
import { type Connector, type ConnectTarget, checkOutbound, type Resolver, splitAuthority } from "./net.ts";
import { FORBIDDEN_HEADERS, type HttpRequestMessage, type HttpResponseMessage } from "./worker/wasi.ts";

/** Largest response body handed to a plugin (bytes); larger ones fail with HTTP-response-body-size. */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/** Request headers dropped before sending: the forbidden ones, and a length undici computes itself. */
const DROP = new Set([...FORBIDDEN_HEADERS, "content-length"]);

/** What {@link sendOutbound} needs from the plugin and the host. */
export type OutboundContext = {
  pluginName: string;
  rules: HostRule[];
  disabled: { entry: string; reason: string }[];
  resolver: Resolver;
  connector: Connector;
  /** Aborted when the call ends (deadline or host closing). */
  signal: AbortSignal;
};

/**
 * Checks and sends one request. Never throws.
 * @returns the answer for the plugin; when the host refused the request, the denial message that
 *   ends the call as `denied`; when the request failed on the way (name not resolved, connection
 *   refused, timeout, TLS, response too large), `failure`: what went wrong, worded to follow
 *   "the host …" (e.g. "could not connect to 127.0.0.1:9: connection refused"). The plugin's
 *   fetch() only sees a generic network error, so the host adds this to the call's error.
 */
export async function sendOutbound(
  req: HttpRequestMessage,
  ctx: OutboundContext,
): Promise<{ answer: HttpResponseMessage; denial?: string; failure?: string }> {
  const url = splitAuthority(req.scheme, req.authority);
  if (!url) return { answer: { ok: false, error: { tag: "HTTP-request-URI-invalid" } } };
  const decision = await checkOutbound(url, ctx.rules, ctx.disabled, ctx.pluginName, ctx.resolver);
  if (!decision.ok) {
    if (decision.denied)
      return { answer: { ok: false, error: { tag: "HTTP-request-denied" } }, denial: decision.message };
    return {
      answer: { ok: false, error: { tag: "DNS-error", val: { rcode: decision.message, infoCode: undefined } } },
      failure: decision.message,
    };
  }
  const { target } = decision;
  const origin = `${url.scheme}://${req.authority}`;
  const client = new Client(origin, {
    connect: (_opts, callback) => {
      ctx.connector(target).then(
        (socket) => callback(null, socket),
        (err: Error) => callback(err, null),
      );
    },
    pipelining: 0,
  });
  try {
    const headers: [string, string][] = req.headers.filter(([k]) => !DROP.has(k.toLowerCase()));
    const res = await client.request({
      origin,
      path: req.pathWithQuery.startsWith("/") ? req.pathWithQuery : `/${req.pathWithQuery}`,
      method: req.method as "GET",
      headers: headers.flat(),
      body: req.body ?? null,
      signal: ctx.signal,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_RESPONSE_BYTES) {
        res.body.destroy();
        return {
          answer: { ok: false, error: { tag: "HTTP-response-body-size", val: BigInt(size) } },
          failure: `cut off the answer of ${describeTarget(target)}: it was over ${MAX_RESPONSE_BYTES / 1024 / 1024} MiB (the most a plugin is given)`,
        };
      }
      chunks.push(chunk as Buffer);
    }
    const out: [string, string][] = [];
    for (const [k, v] of Object.entries(res.headers)) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) out.push([k, one]);
    }
    return { answer: { ok: true, status: res.statusCode, headers: out, body: new Uint8Array(Buffer.concat(chunks)) } };
  } catch (err) {
    return { answer: { ok: false, error: errorCode(err) }, failure: describeFailure(err, target) };
  } finally {
    client.destroy().catch(() => {
      // The connection is being thrown away; a failure to close it cleanly changes nothing.
    });
  }
}

/** `host:port` of a connection for messages, with the address when the URL named a host. */
function describeTarget(t: ConnectTarget): string {
  const addr = t.family === 6 ? `[${t.address}]` : t.address;
  if (t.hostname === t.address) return `${addr}:${t.port}`;
  return `${t.hostname}:${t.port} (${addr})`;
}

/**
 * Why a request to `target` failed, worded to follow "the host …". Node's and undici's error
 * codes name the cause; the message is kept for anything not recognised.
 */
export function describeFailure(err: unknown, target: ConnectTarget): string {
  const code = (err as { code?: string })?.code ?? "";
  const message = (err as Error)?.message ?? String(err);
  const where = describeTarget(target);
  switch (code) {
    case "ECONNREFUSED":
      return `could not connect to ${where}: connection refused`;
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `could not connect to ${where}: no route to the host`;
    case "ECONNRESET":
    case "EPIPE":
    case "UND_ERR_SOCKET":
      return `lost the connection to ${where} before the answer was complete (connection reset)`;
    case "ETIMEDOUT":
    case "UND_ERR_CONNECT_TIMEOUT":
      return `could not connect to ${where}: timed out`;
    case "UND_ERR_HEADERS_TIMEOUT":
    case "UND_ERR_BODY_TIMEOUT":
      return `timed out waiting for ${where} to answer`;
    case "UND_ERR_ABORTED":
    case "ABORT_ERR":
      return `stopped the request to ${where}: the call ended`;
  }
  if (code.startsWith("ERR_TLS") || code.includes("CERT") || /SSL|TLS|certificate/i.test(message)) {
    return `could not set up TLS with ${where}: ${message}${code && !message.includes(code) ? ` (${code})` : ""}`;
  }
  return `could not complete the request to ${where}: ${message}${code && !message.includes(code) ? ` (${code})` : ""}`;
}

function errorCode(err: unknown): { tag: string; val?: unknown } {
  const code = (err as { code?: string })?.code ?? "";
  if (code === "ECONNREFUSED") return { tag: "connection-refused" };
  if (code === "ECONNRESET" || code === "UND_ERR_SOCKET") return { tag: "connection-terminated" };
  if (code === "ETIMEDOUT" || code === "UND_ERR_CONNECT_TIMEOUT") return { tag: "connection-timeout" };
  if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") return { tag: "connection-read-timeout" };
  if (code.startsWith("ERR_TLS") || code.includes("CERT")) return { tag: "TLS-certificate-error" };
  return { tag: "internal-error", val: (err as Error)?.message ?? String(err) };
}
