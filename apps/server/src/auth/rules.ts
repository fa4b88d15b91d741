import type { NotebookRole } from "@databook/wire";

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
 */
export type AccessRule =
  | { kind: "public"; why: string }
  | { kind: "any-session" }
  | { kind: "signed-in" }
  | { kind: "admin" }
  | { kind: "notebook"; role: NotebookRole; param?: string; socket?: boolean };

/** One registered route and its rule (for the route matrix test and docs/security.md). */
export type RouteRule = { method: string; url: string; access: AccessRule };

/** Shorthands for route options: `{ config: access.notebook("editor") }`. */
export const access = {
  public: (why: string) => ({ access: { kind: "public", why } as AccessRule }),
  anySession: () => ({ access: { kind: "any-session" } as AccessRule }),
  signedIn: () => ({ access: { kind: "signed-in" } as AccessRule }),
  admin: () => ({ access: { kind: "admin" } as AccessRule }),
  notebook: (role: NotebookRole, more: { param?: string; socket?: boolean } = {}) => ({
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
  }
}
