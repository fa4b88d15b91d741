import { readFileSync } from "node:fs";
import { parseDuration } from "@databook/cell-syntax";
import { DEFAULT_SESSION_LIFETIMES, type SessionLifetimes } from "./sessions.ts";
import { isLoopbackName, parseAllowedHosts, type WebOrigins } from "./web-guard.ts";

/** OpenID Connect settings (docs/security.md). */
export type OidcSettings = {
  issuer: URL;
  clientId: string;
  clientSecret?: string;
  /** What the sign-in button says: "Sign in with <label>". */
  label: string;
  /** Claim holding the person's groups (default `groups`). */
  groupsClaim: string;
  /** Members of these groups are instance admins (checked at every sign-in). */
  adminGroups: string[];
  /** When not empty, only members of these groups (or of adminGroups) may sign in. */
  allowedGroups: string[];
  /** Scopes asked for (default `openid profile email groups`; providers ignore ones they do not know). */
  scopes: string[];
};

/** Everything the identity layer reads from the environment, checked once at start. */
export type AuthSettings = WebOrigins & {
  /** Cookies get `Secure` (and the `__Host-` prefix) when the public URL is https. */
  secureCookies: boolean;
  sessions: SessionLifetimes;
  /** Local accounts may sign in with a password (turn off with DATABOOK_LOCAL_SIGNIN=off once OIDC works). */
  localSignIn: boolean;
  oidc?: OidcSettings;
  /** A bearer credential Prometheus must send to read /metrics from a non-loopback address. */
  metricsToken?: string;
};

/**
 * Reads a secret from `NAME`, or from the file `NAME_FILE` names (trailing newline dropped), so a
 * secret can come from a mounted file instead of the process environment. Throws
 * `{ kind: "bad-input" }` when both are set or the file cannot be read.
 */
export function secretFromEnv(env: Record<string, string | undefined>, name: string): string | undefined {
  const file = env[`${name}_FILE`];
  if (file && env[name]) throw { kind: "bad-input", message: `set either ${name} or ${name}_FILE, not both` };
  if (!file) return env[name] || undefined;
  try {
    return readFileSync(file, "utf8").replace(/\r?\n$/, "") || undefined;
  } catch (e) {
    throw { kind: "bad-input", message: `${name}_FILE=${file} cannot be read: ${(e as Error).message}` };
  }
}

const list = (v: string | undefined) => (v ?? "").split(/[\s,]+/).filter(Boolean);

/** The duration in `env[name]` (`15m`, `12h`…) in ms, or `fallback` when unset; throws `{ kind: "bad-input" }` naming the variable. */
export function duration(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const v = env[name];
  if (!v) return fallback;
  try {
    return parseDuration(v, name);
  } catch (e) {
    throw { kind: "bad-input", message: (e as Error).message };
  }
}

/**
 * Builds {@link AuthSettings} from environment variables (docs/security.md lists them). Throws
 * `{ kind: "bad-input" }` naming the variable for a value that cannot be used.
 */
export function authSettingsFromEnv(env: Record<string, string | undefined>): AuthSettings {
  let publicUrl: URL | undefined;
  if (env.DATABOOK_PUBLIC_URL) {
    try {
      publicUrl = new URL(env.DATABOOK_PUBLIC_URL);
    } catch {
      throw {
        kind: "bad-input",
        message: `DATABOOK_PUBLIC_URL=${env.DATABOOK_PUBLIC_URL} is not a URL; write the address people open, e.g. https://databook.example.com`,
      };
    }
    if (publicUrl.protocol !== "http:" && publicUrl.protocol !== "https:")
      throw { kind: "bad-input", message: "DATABOOK_PUBLIC_URL must start with https:// (or http:// on loopback)" };
  }
  let oidc: OidcSettings | undefined;
  if (env.DATABOOK_OIDC_ISSUER) {
    let issuer: URL;
    try {
      issuer = new URL(env.DATABOOK_OIDC_ISSUER);
    } catch {
      throw { kind: "bad-input", message: `DATABOOK_OIDC_ISSUER=${env.DATABOOK_OIDC_ISSUER} is not a URL` };
    }
    // tokens and the client secret cross this connection: plain http only to this machine
    if (issuer.protocol !== "https:" && !(issuer.protocol === "http:" && isLoopbackName(issuer.hostname)))
      throw {
        kind: "bad-input",
        message: `DATABOOK_OIDC_ISSUER=${env.DATABOOK_OIDC_ISSUER} must start with https:// (plain http:// is accepted only for localhost, 127.0.0.1 or [::1])`,
      };
    const clientId = env.DATABOOK_OIDC_CLIENT_ID;
    if (!clientId)
      throw { kind: "bad-input", message: "DATABOOK_OIDC_ISSUER is set but DATABOOK_OIDC_CLIENT_ID is not" };
    if (!publicUrl)
      throw {
        kind: "bad-input",
        message: "DATABOOK_OIDC_ISSUER needs DATABOOK_PUBLIC_URL (the redirect URI is <public URL>/auth/oidc/callback)",
      };
    oidc = {
      issuer,
      clientId,
      clientSecret: secretFromEnv(env, "DATABOOK_OIDC_CLIENT_SECRET"),
      label: env.DATABOOK_OIDC_LABEL || issuer.hostname,
      groupsClaim: env.DATABOOK_OIDC_GROUPS_CLAIM || "groups",
      adminGroups: list(env.DATABOOK_OIDC_ADMIN_GROUPS),
      allowedGroups: list(env.DATABOOK_OIDC_ALLOWED_GROUPS),
      // `openid` makes it OpenID Connect: always asked for
      scopes: [
        "openid",
        ...(env.DATABOOK_OIDC_SCOPES ? list(env.DATABOOK_OIDC_SCOPES) : ["profile", "email", "groups"]).filter(
          (x) => x !== "openid",
        ),
      ],
    };
  }
  return {
    publicUrl,
    allowedHosts: parseAllowedHosts(env.DATABOOK_ALLOWED_HOSTS),
    secureCookies: publicUrl?.protocol === "https:",
    sessions: {
      idleMs: duration(env, "DATABOOK_SESSION_IDLE", DEFAULT_SESSION_LIFETIMES.idleMs),
      absoluteMs: duration(env, "DATABOOK_SESSION_MAX", DEFAULT_SESSION_LIFETIMES.absoluteMs),
    },
    localSignIn: env.DATABOOK_LOCAL_SIGNIN !== "off",
    ...(oidc ? { oidc } : {}),
    metricsToken: secretFromEnv(env, "DATABOOK_METRICS_TOKEN"),
  };
}
