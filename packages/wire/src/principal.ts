/**
 * Who acts: the identity the server vouches for, written into the incident log, the timeline,
 * presence and the audit log. It never comes from a name a client typed.
 *
 * - `user`: a signed-in person (local account or OpenID Connect); `id` is the account id.
 * - `share-link`: a stakeholder following through a viewer share link; `id` is the link id.
 * - `token`: an API token (machines: Alertmanager, scripts, gRPC callers); `id` is the token id.
 * - `system`: the server itself (recovery after a crash); `id` is `"system"`.
 * - `cli`: a `databook` command that wrote to the data folder directly; `id` is the OS user.
 */
export const PRINCIPAL_KINDS = ["user", "share-link", "token", "system", "cli"] as const;

/** One of {@link PRINCIPAL_KINDS}. */
export type PrincipalKind = (typeof PRINCIPAL_KINDS)[number];

/**
 * A principal: `kind`, a stable `id` (never reused) and the display `name` at that moment. Never an
 * email address: the incident log cannot be erased.
 */
export type Principal = { kind: PrincipalKind; id: string; name: string };

/** The server acting on its own (only for recovery: a run interrupted by a crash). */
export const SYSTEM_PRINCIPAL: Principal = { kind: "system", id: "system", name: "system" };

/** True when `value` is a well-formed {@link Principal}. */
export function isPrincipal(value: unknown): value is Principal {
  const p = value as Partial<Principal> | null;
  return (
    !!p &&
    typeof p === "object" &&
    (PRINCIPAL_KINDS as readonly string[]).includes(p.kind as string) &&
    typeof p.id === "string" &&
    p.id.length > 0 &&
    typeof p.name === "string"
  );
}

/** Instance roles: every account is one of these. */
export const INSTANCE_ROLES = ["admin", "member"] as const;
export type InstanceRole = (typeof INSTANCE_ROLES)[number];

/** Roles on one notebook, weakest first. A share link only ever grants `viewer`. */
export const NOTEBOOK_ROLES = ["viewer", "editor", "owner"] as const;
export type NotebookRole = (typeof NOTEBOOK_ROLES)[number];

/** True when `have` includes the rights of `need` (owner ⊇ editor ⊇ viewer). */
export function roleAtLeast(have: NotebookRole | undefined, need: NotebookRole): boolean {
  return have !== undefined && NOTEBOOK_ROLES.indexOf(have) >= NOTEBOOK_ROLES.indexOf(need);
}

/**
 * Who may view a notebook besides the people and groups given a role on it: `signed-in` — every
 * signed-in account may view (the default); `restricted` — only those given a role.
 */
export const VISIBILITIES = ["signed-in", "restricted"] as const;
export type Visibility = (typeof VISIBILITIES)[number];

/**
 * The co-editing protocol version a page announces on connect (`?v=` on the WebSocket URL). A
 * connection without it, or with an older one, is a tab still running an old script: it is closed
 * with {@link CLOSE_CODES}.UPGRADED ("Databook was upgraded: reload").
 */
export const PROTOCOL_VERSION = 2;
