import { type InstanceRole, SYSTEM_PRINCIPAL } from "@databook/wire";
import type { Audit } from "../audit.ts";
import type { Sharing } from "../notebooks/sharing.ts";
import { checkLine } from "../text.ts";
import { type Account, type Accounts, MAX_DISPLAY_NAME_CHARS } from "./accounts.ts";
import type { OidcSettings } from "./config.ts";
import type { OidcProfile } from "./oidc.ts";

/** What {@link accountFromOidc} decided. */
export type OidcAccountResult =
  | { ok: true; account: Account; created: boolean }
  | { ok: false; problem: "oidc-not-allowed" | "oidc-disabled"; accountId?: string };

const inAny = (groups: string[], of: string[]) => groups.some((g) => of.includes(g));

/**
 * The display name for a person: the first of `names` (name, then preferred_username) that is an
 * acceptable line once cut to {@link MAX_DISPLAY_NAME_CHARS}; else "OpenID user <subject>". Never
 * the email: display names go into the incident log, which cannot be erased.
 */
export function displayNameFrom(names: string[], subject: string): string {
  for (const n of [...names, `OpenID user ${subject}`]) {
    try {
      return checkLine([...n.trim()].slice(0, MAX_DISPLAY_NAME_CHARS).join(""), "display name", MAX_DISPLAY_NAME_CHARS);
    } catch {
      // a blank name or one with control / bidirectional characters: try the next
    }
  }
  return "OpenID user";
}

/**
 * The instance role the groups give, or undefined when Databook decides it (no admin groups
 * configured: admins then keep the role an admin gave them).
 */
export function roleFromGroups(settings: OidcSettings, groups: string[]): InstanceRole | undefined {
  if (!settings.adminGroups.length) return undefined;
  return inAny(groups, settings.adminGroups) ? "admin" : "member";
}

/**
 * The account for a verified sign-in: refused when `allowedGroups` is set and the person is in
 * none of them (nor in an admin group), or when the account is disabled; created on the first
 * sign-in (admin when in an admin group, else member); on later ones its name, email and groups
 * are updated and its instance role re-decided from the admin groups. Changes are written to the
 * audit log (never the email); when groups or role changed, `accessChanged` re-decides the
 * person's open connections (a group grant may have been gained or lost).
 */
export async function accountFromOidc(
  deps: {
    accounts: Accounts;
    audit: Audit;
    sharing: Pick<Sharing, "adoptOrphans">;
    accessChanged: (changed: { userIds: string[] }) => void;
  },
  settings: OidcSettings,
  profile: OidcProfile,
): Promise<OidcAccountResult> {
  const { accounts, audit } = deps;
  const existing = await accounts.byOidc(profile.issuer, profile.subject);
  const byGroups = roleFromGroups(settings, profile.groups);
  if (settings.allowedGroups.length && !inAny(profile.groups, settings.allowedGroups) && byGroups !== "admin")
    return { ok: false, problem: "oidc-not-allowed", ...(existing ? { accountId: existing.id } : {}) };
  const displayName = displayNameFrom(profile.names, profile.subject);

  if (!existing) {
    const role = byGroups ?? "member";
    const account = await accounts.create({
      displayName,
      ...(profile.email ? { email: profile.email } : {}),
      role,
      oidc: { issuer: profile.issuer, subject: profile.subject, groups: profile.groups },
    });
    await audit.record("account.created", SYSTEM_PRINCIPAL, { accountId: account.id, role, via: "oidc" });
    if (role === "admin") await deps.sharing.adoptOrphans(account);
    return { ok: true, account, created: true };
  }
  if (existing.disabled) return { ok: false, problem: "oidc-disabled", accountId: existing.id };

  let account = await accounts.updateFromOidc(existing.id, {
    displayName,
    ...(profile.email ? { email: profile.email } : {}),
    groups: profile.groups,
  });
  const roleChanged = byGroups !== undefined && byGroups !== existing.role;
  if (roleChanged) {
    account = await accounts.setRole(existing.id, byGroups);
    if (byGroups === "admin") await deps.sharing.adoptOrphans(account);
  }
  const sameGroups = (a: string[], b: string[]) => a.length === b.length && a.every((g) => b.includes(g));
  const groupsChanged = !sameGroups(existing.groups, account.groups);
  if (roleChanged || account.displayName !== existing.displayName)
    await audit.record("account.changed", SYSTEM_PRINCIPAL, {
      accountId: existing.id,
      via: "oidc",
      ...(roleChanged ? { role: byGroups, reason: "admin groups at sign-in" } : {}),
      ...(account.displayName !== existing.displayName ? { displayName: account.displayName } : {}),
    });
  if (roleChanged || groupsChanged) deps.accessChanged({ userIds: [existing.id] });
  return { ok: true, account, created: false };
}
