/**
 * One authorization check for outside callers of `databook.v1.PluginService`: a Connect
 * interceptor used by both entry points — the gRPC port (a bare HTTP/2 server that no Fastify hook
 * sees) and the Connect / gRPC-Web routes on the web port. It takes the same identity and scope
 * decisions as REST (auth/identity.ts, auth/plugin.ts) and writes every call to the audit log.
 */
import {
  Code,
  ConnectError,
  type ContextValues,
  createContextKey,
  createContextValues,
  type Interceptor,
} from "@connectrpc/connect";
import type { PluginHost } from "@databook/plugin-host";
import { type Principal, TOKEN_PREFIX } from "@databook/wire";
import type { Audit } from "../audit.ts";
import { type Identities, type Identity, tokenRefusal } from "../auth/identity.ts";
import { ERROR_KIND_HEADER } from "./errors.ts";

/** The caller's principal, set by the interceptor for the service's handlers. */
export const CALLER = createContextKey<Identity | undefined>(undefined, { description: "databook caller" });
/** The client's address (for rate-limited logging of failed authentications). */
export const CLIENT_ADDRESS = createContextKey<string>("", { description: "client address" });

/** Context values carrying the client address, for `connectNodeAdapter` / the Fastify plugin's `contextValues`. */
export function addressContext(address: string | undefined): ContextValues {
  const v = createContextValues();
  v.set(CLIENT_ADDRESS, address ?? "");
  return v;
}

/** The principal the interceptor established for this call (throws if there is none: a wiring bug). */
export function callerOf(values: ContextValues): Identity & { principal: Principal } {
  const id = values.get(CALLER);
  if (!id?.principal) throw new ConnectError("no caller on this call", Code.Internal);
  return id as Identity & { principal: Principal };
}

function denied(code: Code, message: string): ConnectError {
  return new ConnectError(message, code, new Headers({ [ERROR_KIND_HEADER]: "denied" }));
}

/**
 * The interceptor: `Authorization: Bearer dbk_…` (an API token; nothing else, no token in any
 * URL) → scope `read` for ListPlugins, `run` for Get, plus `run-actions` when a Get sets an option
 * the plugin marks as an action → the call → one audit entry with principal, method, plugin, action
 * flag, input size, duration and outcome (never the input itself).
 */
export function authInterceptor(opts: {
  identities: Identities;
  audit: Audit;
  host: PluginHost | undefined;
}): Interceptor {
  return (next) => async (req) => {
    const started = performance.now();
    const h = req.header.get("authorization") ?? "";
    const bearer = /^bearer\s+(.+)$/i.exec(h.trim())?.[1]?.trim();
    const address = req.contextValues.get(CLIENT_ADDRESS);
    if (!bearer || !bearer.startsWith(TOKEN_PREFIX)) {
      await opts.audit.failure(address, {
        via: req.method.name,
        reason: bearer ? "not an API token" : "no credential",
      });
      throw denied(
        Code.Unauthenticated,
        "send an API token as 'authorization: Bearer dbk_…' (databook tokens create, or the Account page)",
      );
    }
    const id = await opts.identities.resolve({ bearer });
    if (!id.principal || !id.token) {
      await opts.audit.failure(address, { via: req.method.name, reason: id.refused ?? "refused" });
      throw denied(Code.Unauthenticated, id.refused ?? "the API token is not valid");
    }
    const method = req.method.name;
    const msg = req.message as { plugin?: string; options?: { key: string }[]; input?: string };
    const plugin = method === "Get" ? msg.plugin : undefined;
    const info = plugin ? opts.host?.list().plugins.find((p) => p.name === plugin) : undefined;
    const actionOptions = (msg.options ?? [])
      .map((o) => o.key)
      .filter((k) => info?.options.some((o) => o.name === k && o.action));
    const base = {
      method,
      ...(plugin ? { plugin } : {}),
      action: actionOptions.length > 0,
      ...(actionOptions.length ? { actionOptions } : {}),
      ...(method === "Get" ? { inputBytes: Buffer.byteLength(msg.input ?? "", "utf8") } : {}),
    };
    const refusal =
      tokenRefusal(id, method === "ListPlugins" ? "read" : "run") ??
      (actionOptions.length ? tokenRefusal(id, "run-actions") : undefined);
    if (refusal) {
      await opts.audit.record("grpc.call", id.principal, { ...base, outcome: "denied", durationMs: 0 });
      throw denied(Code.PermissionDenied, refusal.message);
    }
    req.contextValues.set(CALLER, id);
    try {
      const res = await next(req);
      await opts.audit.record("grpc.call", id.principal, {
        ...base,
        outcome: "ok",
        durationMs: Math.round(performance.now() - started),
      });
      return res;
    } catch (e) {
      const err = ConnectError.from(e);
      await opts.audit.record("grpc.call", id.principal, {
        ...base,
        outcome: err.metadata.get(ERROR_KIND_HEADER) ?? Code[err.code],
        durationMs: Math.round(performance.now() - started),
      });
      throw e;
    }
  };
}
