/**
 * The shapes the server's REST routes answer with (apps/server/src/routes/*.ts, docs/api.md).
 * Times are ms since the Unix epoch.
 */
import type { InstanceRole, NotebookRole, Principal, TimeRangeSetting, TokenScope, Visibility } from "@databook/wire";

export type { Timeline, TimelineEntry } from "@databook/wire";

/** One row of `GET /api/notebooks`: only notebooks the caller may view, with the caller's role. */
export type NotebookSummary = {
  id: string;
  title: string;
  createdAtMs: number;
  updatedAtMs: number;
  timeRange?: TimeRangeSetting;
  participants: string[];
  archived: boolean;
  visibility: Visibility;
  role: NotebookRole;
};

/** `GET /api/notebooks/:id` (and what create, PATCH, archive answer). */
export type NotebookInfo = Omit<NotebookSummary, "participants">;

/** One plugin option; `action` marks options whose use changes something outside (asks first). */
export type PluginOption = { name: string; description: string; action: boolean };
export type PluginInfo = {
  name: string;
  description: string;
  version: string;
  options: PluginOption[];
  contentTypes: string[];
};
export type PluginList = { plugins: PluginInfo[]; broken: { dir: string; name?: string; reason: string }[] };

/** A search hit; `snippet` is HTML with hits in `<mark>` and everything else escaped by the server. */
export type SearchResult = {
  notebookId: string;
  title: string;
  where: "title" | "cell" | "output";
  cellId?: string;
  snippet: string;
};

/** `POST …/cells/:cellId/preview`: what running an action cell would do (docs/api.md). */
export type CellPreview = {
  source: string;
  sourceHash: string;
  plugin?: string;
  action: boolean;
  actionOptions: string[];
  preview:
    | { ok: true; summary: string; details: [string, string][]; warnings: string[] }
    | { ok: false; error: { kind: string; message: string } }
    | null;
};

/** A run's stored output body. */
export type RunOutput = { contentType: string; body: string };

/** `GET /api/auth/config`: how people may sign in here. */
export type AuthConfig = {
  localSignIn: boolean;
  oidc?: { label: string; startUrl: string };
  needsFirstAdmin: boolean;
};

/** An account as its owner and admins see it (never a password hash). */
export type Account = {
  id: string;
  username?: string;
  displayName: string;
  email?: string;
  role: InstanceRole;
  disabled: boolean;
  hasPassword: boolean;
  oidc: boolean;
  groups: string[];
  createdAtMs: number;
};

/** `GET /api/me`: who the session is — a person (`account`) or a stakeholder (`shareLinks`). */
export type Me = {
  principal: Principal;
  account?: Account;
  shareLinks?: { id: string; notebookId: string; label: string }[];
};

/** Someone with a role on a notebook: a person or an OpenID Connect group. */
export type Subject = { kind: "user" | "group"; id: string };
export type Member = { subject: Subject; name: string; role: NotebookRole; grantedAtMs: number };

/** A share link without its secret; `live` is false once revoked or past its expiry. */
export type ShareLink = {
  id: string;
  notebookId: string;
  label: string;
  createdBy: Principal;
  createdAtMs: number;
  expiresAtMs?: number;
  revokedAtMs?: number;
  live: boolean;
};

/** `GET /api/notebooks/:id/access` (editors and owners): the Share dialog's contents. */
export type NotebookAccess = {
  visibility: Visibility;
  yourRole: NotebookRole;
  members: Member[];
  shareLinks: ShareLink[];
};

/** A person in the directory (`GET /api/users?q=`), for the people picker. */
export type DirectoryUser = { id: string; displayName: string; username?: string };

/** An API token without its secret (`owner` is the owner's display name). */
export type ApiToken = {
  id: string;
  ownerId: string;
  owner: string;
  name: string;
  scopes: TokenScope[];
  createdAtMs: number;
  expiresAtMs?: number;
  lastUsedMs?: number;
  revokedAtMs?: number;
  live: boolean;
};

/** One audit-log entry (`GET /api/admin/audit`), newest first. `actor` is a string in v1 entries. */
export type AuditEntry = {
  seq: number;
  type: string;
  atMs: number;
  actor: Principal | string;
  data: Record<string, unknown>;
  hash: string;
};
