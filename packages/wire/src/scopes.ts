/**
 * What an API token may do (docs/security.md has the table):
 * - `read`: list, view and search notebooks the owner may view; the plugin list.
 * - `run`: run cells and change notebooks the owner may edit; gRPC/Connect `Get` without action options.
 * - `run-actions`: runs and `Get` calls that set an option the plugin marks as an action.
 * - `alerts:ingest`: the Alertmanager webhook.
 * - `admin`: the admin API (only for tokens of admins).
 * A token's rights are its scopes, capped by its owner's current role.
 */
export const TOKEN_SCOPES = ["read", "run", "run-actions", "alerts:ingest", "admin"] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

/** Prefix of API token secrets, so secret scanners recognise a leaked one. */
export const TOKEN_PREFIX = "dbk_";
