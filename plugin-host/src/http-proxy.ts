/**
 * Sends one outbound request of a plugin, on the main thread, in two halves: {@link checkTarget}
 * (allowed_hosts and address rules, before the worker hands over any of the body), then
 * {@link sendChecked}: undici speaks HTTP/1.1 over the socket that the {@link Connector} opened to
 * the checked address. Redirects are not followed here: the plugin's fetch() follows them itself by
 * sending a new request, which goes through the same check (each hop re-checked).
 */
import { Client } from "undici";
import type { HostRule } from "./config.ts";
import { type Connector, type ConnectTarget, checkOutbound, type Resolver, splitAuthority } from "./net.ts";
import {
  FORBIDDEN_HEADERS,
  type HttpErrorCode,
  type HttpRequestMessage,
  type HttpResponseMessage,
} from "./worker/wasi.ts";

/** Largest response body handed to a plugin (bytes); larger ones fail with HTTP-response-body-size. */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/** Size of the buffers a response is handed over in (each is let go once the plugin read it). */
const CHUNK_BYTES = 1024 * 1024;

/** Request headers dropped before sending: the forbidden ones, and a length undici computes itself. */
const DROP = new Set([...FORBIDDEN_HEADERS, "content-length"]);

/** What checking and sending need from the plugin and the host. */
export type OutboundContext = {
  pluginName: string;
  rules: HostRule[];
  disabled: { entry: string; reason: string }[];
  resolver: Resolver;
  connector: Connector;
  /** Aborted when the call ends (deadline or host closing). */
  signal: AbortSignal;
};

/** A request target that passed the check: where to connect, and the origin for undici. */
export type CheckedTarget = { target: ConnectTarget; origin: string };

/**
 * The first half of a request: checks scheme://authority against the plugin's allowed_hosts and
 * the address rules, resolving the name once. Never throws. Nothing of the request's body is
 * needed (or read) for this.
 * @returns the checked target; or the answer for the plugin with, when the host refused, the
 *   `denial` that ends the call as `denied`, or when the name did not resolve, the `failure`.
 */
export async function checkTarget(
  scheme: string,
  authority: string,
  ctx: Omit<OutboundContext, "connector" | "signal">,
): Promise<
  | { ok: true; checked: CheckedTarget }
  | { ok: false; answer: { ok: false; error: HttpErrorCode }; denial?: string; failure?: string }
> {
  const url = splitAuthority(scheme, authority);
  if (!url) return { ok: false, answer: { ok: false, error: { tag: "HTTP-request-URI-invalid" } } };
  const decision = await checkOutbound(url, ctx.rules, ctx.disabled, ctx.pluginName, ctx.resolver);
  if (!decision.ok) {
    if (decision.denied)
      return { ok: false, answer: { ok: false, error: { tag: "HTTP-request-denied" } }, denial: decision.message };
    return {
      ok: false,
      answer: { ok: false, error: { tag: "DNS-error", val: { rcode: decision.message, infoCode: undefined } } },
      failure: decision.message,
    };
  }
  return { ok: true, checked: { target: decision.target, origin: `${url.scheme}://${authority}` } };
}

/**
 * The second half: sends a checked request to exactly the checked address and reads the answer,
 * at most `maxResponseBytes` (and never more than {@link MAX_RESPONSE_BYTES}). Never throws.
 * @returns the answer for the plugin (body in chunks of 1 MiB it may move to the worker); when the
 *   request failed on the way, `failure` worded to follow "the host …"; `overMemory` when the
 *   answer was cut because it would not fit in what the plugin's memory can still take.
 */
export async function sendChecked(
  checked: CheckedTarget,
  req: HttpRequestMessage,
  ctx: { connector: Connector; signal: AbortSignal; maxResponseBytes?: number },
): Promise<{ answer: HttpResponseMessage; failure?: string; overMemory?: boolean }> {
  const { target, origin } = checked;
  const limit = Math.min(MAX_RESPONSE_BYTES, Math.max(0, ctx.maxResponseBytes ?? MAX_RESPONSE_BYTES));
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
    const body = req.body.length === 0 ? null : req.body.length === 1 ? req.body[0]! : Buffer.concat(req.body);
    const res = await client.request({
      origin,
      path: req.pathWithQuery.startsWith("/") ? req.pathWithQuery : `/${req.pathWithQuery}`,
      method: req.method as "GET",
      headers: headers.flat(),
      body,
      signal: ctx.signal,
    });
    const chunks: Uint8Array[] = [];
    let size = 0;
    let room = 0;
    for await (const piece of res.body) {
      const bytes = piece as Buffer;
      size += bytes.length;
      if (size > limit) {
        res.body.destroy();
        const overMemory = limit < MAX_RESPONSE_BYTES;
        return {
          answer: { ok: false, error: { tag: "HTTP-response-body-size", val: BigInt(size) } },
          failure: overMemory
            ? `cut off the answer of ${describeTarget(target)}: it was over ${limit} bytes, all the plugin's memory could still take`
            : `cut off the answer of ${describeTarget(target)}: it was over ${MAX_RESPONSE_BYTES / 1024 / 1024} MiB (the most a plugin is given)`,
          ...(overMemory ? { overMemory } : {}),
        };
      }
      // Copied into buffers of our own (undici's may be slices of larger ones) so they can move to the worker.
      for (let at = 0; at < bytes.length; ) {
        if (room === 0) {
          // Chunks double in size up to 1 MiB: small answers stay small, large ones few.
          chunks.push(new Uint8Array(Math.min(CHUNK_BYTES, Math.max(16384, size - bytes.length + at))));
          room = chunks.at(-1)!.length;
        }
        const last = chunks.at(-1)!;
        const n = Math.min(room, bytes.length - at);
        last.set(bytes.subarray(at, at + n), last.length - room);
        room -= n;
        at += n;
      }
    }
    if (room > 0 && chunks.length > 0) {
      const last = chunks.pop()!;
      chunks.push(last.slice(0, last.length - room));
    }
    const out: [string, string][] = [];
    for (const [k, v] of Object.entries(res.headers)) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) out.push([k, one]);
    }
    return { answer: { ok: true, status: res.statusCode, headers: out, body: chunks } };
  } catch (err) {
    return { answer: { ok: false, error: errorCode(err) }, failure: describeFailure(err, target) };
  } finally {
    client.destroy().catch(() => {
      // The connection is being thrown away; a failure to close it cleanly changes nothing.
    });
  }
}

/**
 * Checks and sends one request ({@link checkTarget} then {@link sendChecked}). Never throws.
 * @returns the answer for the plugin; `denial` when the host refused the request (the call ends
 *   as `denied`); `failure` when it failed on the way, worded to follow "the host …" (e.g. "could
 *   not connect to 127.0.0.1:9: connection refused"): the plugin's fetch() only sees a generic
 *   network error, so the host adds this to the call's error.
 */
export async function sendOutbound(
  req: HttpRequestMessage,
  ctx: OutboundContext,
): Promise<{ answer: HttpResponseMessage; denial?: string; failure?: string }> {
  const check = await checkTarget(req.scheme, req.authority, ctx);
  if (!check.ok) {
    const { answer, denial, failure } = check;
    return { answer, ...(denial ? { denial } : {}), ...(failure ? { failure } : {}) };
  }
  const { answer, failure } = await sendChecked(check.checked, req, ctx);
  return { answer, ...(failure ? { failure } : {}) };
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
