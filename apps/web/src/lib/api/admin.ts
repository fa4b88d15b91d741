/** The admin page's calls: accounts, everyone's API tokens, the audit log (docs/api.md). */
import type { InstanceRole } from "@databook/wire";
import { enc, type Http } from "./http.ts";
import type { Account, ApiToken, AuditEntry } from "./types.ts";

/** Filters of the audit view: entry type, actor id, and paging (`before` an entry number). */
export type AuditFilter = { type?: string; actor?: string; before?: number };

export function adminCalls(http: Http) {
  return {
    users: () => http.json<{ users: Account[] }>("/api/admin/users").then((r) => r.users),
    createUser: (body: { username: string; displayName?: string; password?: string; role: InstanceRole }) =>
      http.send<{ account: Account }>("POST", "/api/admin/users", body).then((r) => r.account),
    updateUser: (
      userId: string,
      body: { role?: InstanceRole; disabled?: boolean; displayName?: string; password?: string },
    ) => http.send<{ account: Account }>("PATCH", `/api/admin/users/${enc(userId)}`, body).then((r) => r.account),
    allTokens: () => http.json<{ tokens: ApiToken[] }>("/api/admin/tokens").then((r) => r.tokens),
    /** Audit entries newest first (at most 200 a page). */
    audit: (f: AuditFilter = {}) => {
      const q = new URLSearchParams();
      if (f.type) q.set("type", f.type);
      if (f.actor) q.set("actor", f.actor);
      if (f.before) q.set("before", String(f.before));
      const qs = q.toString();
      return http.json<{ entries: AuditEntry[] }>(`/api/admin/audit${qs ? `?${qs}` : ""}`).then((r) => r.entries);
    },
  };
}
