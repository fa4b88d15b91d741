/**
 * Sends one outbound request of a plugin, on the main thread, after {@link checkOutbound} has
 * allowed it: undici speaks HTTP/1.1 over the socket that the {@link Connector} opened to the
 * checked address. Redirects are not followed here: the plugin's fetch() follows them itself by
 * sending a new request, which goes through the same check (each hop re-checked).
 */
import { Client } from "undici";
import type { HostRule } from "./config.ts";
import { type Connector, checkOutbound, type Resolver, splitAuthority } from "./net.ts";
import type { HttpRequestMessage, HttpResponseMessage } from "./worker/wasi.ts";

/** Largest response body handed to a plugin (bytes); larger ones fail with HTTP-response-body-size. */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/** Request headers the host sets itself or that would let a plugin tamper with the connection. */
const DROP = new Set([
  "host",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "proxy-connection",
  "content-length",
]);

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
 * @returns the answer for the plugin and, when the host refused the request, the denial message
 *   that ends the call as `denied`.
 */
export async function sendOutbound(
  req: HttpRequestMessage,
  ctx: OutboundContext,
): Promise<{ answer: HttpResponseMessage; denial?: string }> {
  const url = splitAuthority(req.scheme, req.authority);
  if (!url) return { answer: { ok: false, error: { tag: "HTTP-request-URI-invalid" } } };
  const decision = await checkOutbound(url, ctx.rules, ctx.disabled, ctx.pluginName, ctx.resolver);
  if (!decision.ok) {
    if (decision.denied)
      return { answer: { ok: false, error: { tag: "HTTP-request-denied" } }, denial: decision.message };
    return {
      answer: { ok: false, error: { tag: "DNS-error", val: { rcode: decision.message, infoCode: undefined } } },
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
        return { answer: { ok: false, error: { tag: "HTTP-response-body-size", val: BigInt(size) } } };
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
    return { answer: { ok: false, error: errorCode(err) } };
  } finally {
    client.destroy().catch(() => {
      // The connection is being thrown away; a failure to close it cleanly changes nothing.
    });
  }
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
