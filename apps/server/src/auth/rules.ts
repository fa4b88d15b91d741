import type { NotebookRole, TokenScope } from "@databook/wire";

/**
 * Who may call a route. Every route declares one in its options (`config: { access }`); the auth
 * plugin refuses to register a route without one, and collects them so a test can list every route
 * with its rule (docs/security.md has the table).
 *
 * - `public`: anyone, even from a foreign Host for `/healthz` only (`why` says why it is public).
 * - `any-session`: a signed-in person or a stakeholder's share-link session.
 * - `signed-in`: a signed-in person.
 * - `admin`: a signed-in instance admin.
 * - `notebook`: at least `role` on the notebook named by the route parameter `param` (default `id`).
 *   With `socket: true` (the WebSocket) a refusal is not an HTTP error: the connection is accepted
 *   and closed with a close code the page understands.
 * - `connect`: gRPC / Connect methods, authorized by the Connect interceptor with the same code.
 * - `token`: an API token with `scope` only — machines such as Alertmanager; a person's session is
 *   refused (403), so a browser can never be made to post alerts.
 *
 * `scope` is what an API token needs besides its owner's role (`none`: tokens may not call it at
 * all — sign-out, password changes); when left out it follows from the rule ({@link scopeOf}).
 */
export type AccessRule = (
  | { kind: "public"; why: string }
  | { kind: "any-session" }
  | { kind: "signed-in" }
  | { kind: "admin" }
  | { kind: "notebook"; role: NotebookRole; param?: string; socket?: boolean }
  | { kind: "connect" }
  | { kind: "token"; scope: TokenScope }
) & { scope?: TokenScope | "none" };

/** The scope a token needs for a rule: `read` to view, `run` to change or run, `admin` to manage. */
export function scopeOf(r: AccessRule): TokenScope | "none" | undefined {
  if (r.scope) return r.scope;
  switch (r.kind) {
    case "public":
    case "connect":
      return undefined;
    case "admin":
      return "admin";
    case "notebook":
      return r.role === "viewer" ? "read" : r.role === "editor" ? "run" : "admin";
    default:
      return "read";
  }
}

/** One registered route and its rule (for the route matrix test and docs/security.md). */
export type RouteRule = { method: string; url: string; access: AccessRule };

/** Shorthands for route options: `{ config: access.notebook("editor") }`. */
export const access = {
  public: (why: string) => ({ access: { kind: "public", why } as AccessRule }),
  anySession: (scope?: TokenScope | "none") => ({
    access: { kind: "any-session", ...(scope ? { scope } : {}) } as AccessRule,
  }),
  signedIn: (scope?: TokenScope | "none") => ({
    access: { kind: "signed-in", ...(scope ? { scope } : {}) } as AccessRule,
  }),
  admin: () => ({ access: { kind: "admin" } as AccessRule }),
  token: (scope: TokenScope) => ({ access: { kind: "token", scope } as AccessRule }),
  notebook: (role: NotebookRole, more: { param?: string; socket?: boolean; scope?: TokenScope } = {}) => ({
    access: { kind: "notebook", role, ...more } as AccessRule,
  }),
};

/** A rule in words, for docs and error messages. */
export function describeRule(r: AccessRule): string {
  switch (r.kind) {
    case "public":
      return "anyone";
    case "any-session":
      return "a signed-in person or a share link";
    case "signed-in":
      return "a signed-in person";
    case "admin":
      return "an admin";
    case "notebook":
      return `${r.role} of the notebook`;
    case "connect":
      return "an API token (checked by the Connect interceptor)";
    case "token":
      return `an API token with the '${r.scope}' scope`;
  }
}
