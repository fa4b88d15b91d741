/**
 * Authentication and authorization as one Fastify plugin (docs/security.md).
 *
 * Lifecycle of a request, in order:
 *   onRoute    every route must declare `config.access` (an {@link AccessRule}); all are collected
 *   onRequest  Host allow-list (DNS rebinding) → Origin allow-list (cross-site requests and
 *              WebSocket hijacking) → no identity from the client (`X-Databook-User`, `?name=`,
 *              `?token=`) → identity from the session cookie or bearer → same-site Origin for
 *              cookie-authenticated writes → the route's access rule
 *   preValidation  a JSON body carrying `user` is refused: identity comes from the session
 *
 * Wrapped with fastify-plugin so its hooks apply to every route of the app.
 */
import { type NotebookRole, roleAtLeast } from "@databook/wire";
import fastifyCookie from "@fastify/cookie";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { NotebookRow } from "../notebooks/store.ts";
import type { AuthSettings } from "./config.ts";
import {
  type AccessRefusal,
  ANONYMOUS,
  type Identities,
  type Identity,
  RETIRED_EDITOR_LINK,
  tokenRefusal,
} from "./identity.ts";
import { type AccessRule, type RouteRule, scopeOf } from "./rules.ts";
import { secretHash } from "./secrets.ts";
import { hostAllowed, originAllowed } from "./web-guard.ts";

declare module "fastify" {
  interface FastifyContextConfig {
    access?: AccessRule;
  }
  interface FastifyRequest {
    /** Who is calling, established by the auth plugin. */
    identity: Identity;
    /** For `notebook` rules: the notebook and the caller's role on it (set before the handler). */
    notebookAccess?: { notebook: NotebookRow; role: NotebookRole };
    /** For WebSocket routes: why the connection must be closed, as a close code (set instead of throwing). */
    socketRefusal?: { code: number; message: string };
  }
  interface FastifyInstance {
    /** Every route registered so far with its access rule. */
    routeRules: RouteRule[];
  }
}

/** Decorator name a route plugin sets to give every route inside it (a third-party plugin's) one rule. */
export const ROUTE_ACCESS_DEFAULT = "routeAccessDefault";

/**
 * Declares the access rule of every route that plugins registered inside `instance` add without
 * one (for plugins whose routes cannot carry options: @fastify/static, Connect).
 */
export function accessForRoutesInside(instance: FastifyInstance, rule: AccessRule): void {
  instance.decorate(ROUTE_ACCESS_DEFAULT, { getter: () => rule });
}

/** Options of the auth plugin. */
export type AuthPluginOptions = {
  settings: AuthSettings;
  identities: Identities;
  /** The notebook with this id, or undefined. */
  notebookById: (id: string) => Promise<NotebookRow | undefined>;
  /** Called for each refused request (for `/metrics`): the reason label. */
  onRefused?: (reason: string) => void;
};

/** The session cookie's name: `__Host-` prefixed (Secure, path /, no domain) behind https. */
export function sessionCookieName(settings: AuthSettings): string {
  return settings.secureCookies ? "__Host-databook_session" : "databook_session";
}

type Refusal = AccessRefusal;
const refusal = (status: number, kind: Refusal["kind"], message: string): Refusal => ({ status, kind, message });

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

function bearerOf(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  const m = h ? /^bearer\s+(.+)$/i.exec(h.trim()) : null; // the scheme name is case-insensitive (RFC 9110)
  return m ? m[1]!.trim() : undefined;
}

async function authPlugin(app: FastifyInstance, opts: AuthPluginOptions): Promise<void> {
  const { settings, identities } = opts;
  const cookieName = sessionCookieName(settings);
  await app.register(fastifyCookie);
  app.decorateRequest("identity", null as unknown as Identity);
  app.decorateRequest("notebookAccess", undefined);
  app.decorateRequest("socketRefusal", undefined);
  const rules: RouteRule[] = [];
  app.decorate("routeRules", rules);

  app.addHook("onRoute", function (this: FastifyInstance, route) {
    const inherited = (this as unknown as Record<string, AccessRule | undefined>)[ROUTE_ACCESS_DEFAULT];
    route.config = { ...(route.config ?? {}) };
    const rule = route.config.access ?? inherited;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!rule)
      throw new Error(
        `route ${methods.join(",")} ${route.url} declares no access rule: add config: access.…() to its options`,
      );
    route.config.access = rule;
    // a route for every method (Connect's) is one row, not eight
    if (methods.length > 2) rules.push({ method: "ANY", url: route.url, access: rule });
    else for (const m of methods) if (m !== "HEAD") rules.push({ method: m, url: route.url, access: rule });
  });

  const refuse = (reason: string, r: Refusal): Refusal => {
    opts.onRefused?.(reason);
    return r;
  };

  app.addHook("onRequest", async (req: FastifyRequest, reply: FastifyReply) => {
    req.identity = ANONYMOUS;
    const rule = req.routeOptions.config?.access;
    const path = req.url.split("?")[0]!;
    if (path !== "/healthz" && path !== "/readyz" && !hostAllowed(req.headers.host, settings))
      throw refuse(
        "host",
        refusal(
          421,
          "denied",
          `this server does not answer for the host '${req.headers.host ?? ""}'; open it at ${settings.publicUrl?.origin ?? "a loopback address"}, or add the name to DATABOOK_ALLOWED_HOSTS`,
        ),
      );
    const origin = req.headers.origin;
    if (origin !== undefined && !originAllowed(origin, settings))
      throw refuse(
        "origin",
        refusal(
          403,
          "denied",
          `requests from pages of ${origin} are refused: only this server's own pages may call it`,
        ),
      );
    const socket = rule?.kind === "notebook" && rule.socket === true;
    if (!socket) {
      if (req.headers["x-databook-user"] !== undefined)
        throw refusal(
          400,
          "bad-input",
          "the X-Databook-User header is no longer accepted: identity comes from your session or API token",
        );
      const q = req.query as Record<string, unknown> | undefined;
      if (q && "name" in q && path.startsWith("/api/"))
        throw refusal(400, "bad-input", "?name= is no longer accepted: identity comes from your session or API token");
      if (q && typeof q.token === "string" && path.startsWith("/api/"))
        throw refusal(
          401,
          "denied",
          (await identities.resolve({ bearer: q.token })).refused === RETIRED_EDITOR_LINK
            ? RETIRED_EDITOR_LINK
            : "tokens in URLs are no longer accepted: sign in, or send an API token as 'Authorization: Bearer <token>'",
        );
    }
    const sessionSecret = req.cookies[cookieName];
    req.identity = await identities.resolve({ sessionSecret, bearer: bearerOf(req) });
    if (req.identity.session && !SAFE_METHODS.has(req.method) && origin === undefined)
      throw refuse(
        "origin",
        refusal(403, "denied", "a signed-in browser request that changes something must carry an Origin header"),
      );
    if (!rule) return; // no route matched: the not-found handler answers
    const denied = await check(rule, req);
    if (!denied) return;
    if (socket) {
      const code = denied.status === 404 ? 4404 : denied.status === 401 ? 4401 : 4403;
      req.socketRefusal = { code, message: denied.message };
      return;
    }
    opts.onRefused?.(denied.status === 401 ? "unauthenticated" : "forbidden");
    throw denied;
  });

  app.addHook("preValidation", async (req) => {
    const b = req.body;
    if (b && typeof b === "object" && !Array.isArray(b) && Object.hasOwn(b, "user"))
      throw refusal(
        400,
        "bad-input",
        "'user' in the body is no longer accepted: identity comes from your session or API token; remove it",
      );
  });

  function needSession(id: Identity): Refusal | undefined {
    if (id.principal) return undefined;
    return refusal(401, "denied", id.refused ?? "sign in first (this needs an account)");
  }

  /** Undefined when `rule` lets the request through (and notebookAccess is set); the refusal otherwise. */
  async function check(rule: AccessRule, req: FastifyRequest): Promise<Refusal | undefined> {
    const denied = await checkRole(rule, req);
    if (denied || !req.identity.token) return denied;
    return tokenRefusal(req.identity, scopeOf(rule));
  }

  async function checkRole(rule: AccessRule, req: FastifyRequest): Promise<Refusal | undefined> {
    const id = req.identity;
    switch (rule.kind) {
      case "public":
      case "connect":
        return undefined;
      case "any-session":
        return needSession(id);
      case "signed-in":
        if (id.account) return undefined;
        return id.shareLinks
          ? refusal(403, "denied", "a share link can only view the notebook it was made for; sign in for more")
          : needSession(id);
      case "token":
        if (id.token) return undefined; // its scope is checked next, like every token's
        return id.principal
          ? refusal(
              403,
              "denied",
              `only an API token with the '${rule.scope}' scope may call this; create one for the machine that calls it`,
            )
          : refusal(
              401,
              "denied",
              id.refused ?? `send an API token with the '${rule.scope}' scope as 'Authorization: Bearer <token>'`,
            );
      case "admin":
        if (id.account?.role === "admin") return undefined;
        return id.account
          ? refusal(403, "denied", "only an admin may do this")
          : (needSession(id) ?? refusal(403, "denied", "only an admin may do this"));
      case "notebook": {
        const missing = needSession(id);
        if (missing) return missing;
        const nbId = (req.params as Record<string, string>)[rule.param ?? "id"] ?? "";
        const nb = await opts.notebookById(nbId);
        const role = nb ? await identities.roleOn(id, nb) : undefined;
        // the same answer for "does not exist" and "not yours": ids are not to be probed
        if (!nb || !role) return refusal(404, "not-found", `no notebook ${nbId} (or you have no access to it)`);
        req.notebookAccess = { notebook: nb, role };
        if (roleAtLeast(role, rule.role)) return undefined;
        const how = id.shareLinks
          ? "this is a share link: it can follow the notebook but not change it"
          : `you are ${role === "viewer" ? "a viewer" : "an editor"} of this notebook; ${rule.role === "owner" ? "only its owners" : "editors"} may do this`;
        return refusal(403, "denied", how);
      }
    }
  }
}

/** The auth plugin (see the file comment). */
export const authentication = fp(authPlugin, { name: "databook-auth" });

/** Hash of a session cookie value as stored (for tests and revocation). */
export const sessionIdHash = secretHash;
