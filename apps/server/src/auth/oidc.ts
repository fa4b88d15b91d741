/**
 * The OpenID Connect relying party (openid-client v6): authorization code flow with PKCE (S256),
 * state and nonce (OpenID Connect Core 1.0 §3.1, RFC 7636), and what the provider says about the
 * person, from the ID token and the UserInfo endpoint. No HTTP routes here (routes/oidc.ts).
 */
import type { OidcProblem } from "@databook/wire";
import * as client from "openid-client";
import type { OidcSettings } from "./config.ts";
import { isLoopbackName } from "./web-guard.ts";

/** What a sign-in established about the person. `issuer` is the provider's validated issuer. */
export type OidcProfile = {
  issuer: string;
  subject: string;
  /** The claims that may name the person, best first: name, preferred_username. */
  names: string[];
  email?: string;
  groups: string[];
};

/** A failed sign-in: `problem` is what the page shows; `message` (for the server log) never holds a token or an email. */
export type OidcFailure = { kind: "upstream" | "denied" | "bad-input"; problem: OidcProblem; message: string };

/** What the start of a sign-in needs kept until the callback. */
export type OidcChecks = { state: string; nonce: string; codeVerifier: string };

/** Most groups kept from one sign-in (the claim is stored with the account). */
export const MAX_GROUPS = 500;
/** Longest group name kept (characters): as long as a group name in a notebook grant may be. */
const MAX_GROUP_CHARS = 200;
/** Seconds one request to the provider may take (discovery, token, keys, UserInfo). */
const PROVIDER_TIMEOUT_S = 10;

const failure = (kind: OidcFailure["kind"], problem: OidcProblem, message: string): OidcFailure => ({
  kind,
  problem,
  message,
});

/**
 * True when requests to `url` may go over plain http: only to this machine. Everything else must
 * be https, so tokens and the client secret never cross a network in the clear.
 */
export function insecureAllowed(url: URL): boolean {
  return url.protocol === "http:" && isLoopbackName(url.hostname);
}

/**
 * A fetch that refuses any URL that is neither https nor loopback http before sending a byte —
 * also for endpoints a provider's metadata names, which openid-client would otherwise reach over
 * http once insecure requests are allowed for a loopback issuer.
 */
function guardedFetch(inner: client.CustomFetch): client.CustomFetch {
  return (url, options) => {
    const u = new URL(url);
    if (u.protocol !== "https:" && !insecureAllowed(u))
      return Promise.reject(
        failure(
          "bad-input",
          "oidc-failed",
          `refused to call ${u.origin} over ${u.protocol}: the provider must use https`,
        ),
      );
    return inner(url, options);
  };
}

/** Keeps the string members of a groups claim (an array, or one group as a string), trimmed and bounded. */
export function groupsFrom(value: unknown): string[] {
  const raw = Array.isArray(value) ? value : typeof value === "string" ? [value] : [];
  const out: string[] = [];
  for (const g of raw) {
    if (typeof g !== "string") continue;
    const t = g.trim();
    if (t && t.length <= MAX_GROUP_CHARS && !out.includes(t)) out.push(t);
    if (out.length === MAX_GROUPS) break;
  }
  return out;
}

function errorText(e: unknown): string {
  if (!e || typeof e !== "object") return String(e);
  const o = e as { message?: unknown; code?: unknown; error?: unknown; cause?: unknown };
  const own = [o.code, o.error, o.message].filter((x) => typeof x === "string").join(" ");
  const cause = o.cause && typeof o.cause === "object" && "message" in o.cause ? errorText(o.cause) : "";
  return cause && !own.includes(cause) ? `${own}: ${cause}` : own;
}

/** A network failure, a timeout or a 5xx from the provider (its fault, maybe passing) vs. a bad answer. */
function unreachable(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (e.name === "AbortError" || e.name === "TimeoutError") return true;
  if (e instanceof TypeError && e.message === "fetch failed") return true;
  const status = (e as { status?: unknown }).status ?? (e.cause as { status?: unknown } | undefined)?.status;
  return typeof status === "number" && status >= 500;
}

/** The {@link OidcFailure} for an error thrown by openid-client or the provider. */
function asFailure(e: unknown, during: string): OidcFailure {
  if (e && typeof e === "object" && "problem" in e) return e as OidcFailure;
  // the https guard's refusal, wrapped by openid-client
  const cause = (e as { cause?: unknown } | undefined)?.cause;
  if (cause && typeof cause === "object" && "problem" in cause) return cause as OidcFailure;
  if (e instanceof client.AuthorizationResponseError)
    return e.error === "access_denied"
      ? failure("denied", "oidc-denied", `the provider answered access_denied during ${during}`)
      : failure("upstream", "oidc-failed", `the provider answered ${e.error} during ${during}`);
  if (unreachable(e))
    return failure("upstream", "oidc-unavailable", `the provider did not answer during ${during}: ${errorText(e)}`);
  return failure("upstream", "oidc-failed", `${during} failed: ${errorText(e)}`);
}

/**
 * The relying party for one provider. Nothing is fetched until the first sign-in (or `warmUp`):
 * discovery is lazy, and a failed one is tried again at the next sign-in, so a provider that is
 * down — or starts after Databook — never stops the server from starting. `fetch` replaces the
 * HTTP client (tests); every request goes through the https-or-loopback guard.
 */
export function createOidcClient(settings: OidcSettings, opts: { redirectUri: string; fetch?: client.CustomFetch }) {
  const doFetch = guardedFetch(opts.fetch ?? ((url, o) => fetch(url, o as RequestInit)));
  let discovered: Promise<client.Configuration> | undefined;

  async function discover(): Promise<client.Configuration> {
    const auth = settings.clientSecret ? client.ClientSecretBasic(settings.clientSecret) : client.None();
    const config = await client.discovery(settings.issuer, settings.clientId, undefined, auth, {
      [client.customFetch]: doFetch,
      timeout: PROVIDER_TIMEOUT_S,
      // openid-client refuses http issuers; the issuer was checked to be loopback when it is http
      execute: insecureAllowed(settings.issuer) ? [client.allowInsecureRequests] : [],
    });
    if (!config.serverMetadata().supportsPKCE())
      throw failure(
        "bad-input",
        "oidc-failed",
        `the provider at ${settings.issuer.href} does not announce PKCE with S256 (code_challenge_methods_supported); Databook needs it`,
      );
    return config;
  }

  /** The provider's configuration, discovered once; a failure is forgotten so the next call tries again. */
  function configuration(): Promise<client.Configuration> {
    discovered ??= discover().catch((e) => {
      discovered = undefined;
      throw asFailure(e, "discovery");
    });
    return discovered;
  }

  return {
    redirectUri: opts.redirectUri,
    /** Discovers the provider now; resolves with the failure (or undefined), never rejects. For an early warning at start. */
    warmUp: (): Promise<OidcFailure | undefined> =>
      configuration().then(
        () => undefined,
        (e: OidcFailure) => e,
      ),
    /**
     * New random checks and the provider's authorization URL carrying them (PKCE S256 challenge,
     * state, nonce). Rejects with an {@link OidcFailure} when the provider cannot be discovered.
     */
    async start(): Promise<{ url: URL; checks: OidcChecks }> {
      const config = await configuration();
      const checks = {
        state: client.randomState(),
        nonce: client.randomNonce(),
        codeVerifier: client.randomPKCECodeVerifier(),
      };
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: opts.redirectUri,
        response_type: "code",
        scope: settings.scopes.join(" "),
        state: checks.state,
        nonce: checks.nonce,
        code_challenge: await client.calculatePKCECodeChallenge(checks.codeVerifier),
        code_challenge_method: "S256",
      });
      return { url, checks };
    },
    /**
     * Completes a sign-in from the callback URL the provider redirected to (`callbackUrl`, on the
     * redirect URI): checks state and issuer, exchanges the code with the PKCE verifier, verifies
     * the ID token (signature, audience, nonce) and reads UserInfo. Rejects with an
     * {@link OidcFailure}: `oidc-denied` when the person declined, `oidc-unavailable` when the
     * provider did not answer, `oidc-failed` for an answer that does not verify.
     */
    async finish(callbackUrl: URL, checks: OidcChecks): Promise<OidcProfile> {
      const config = await configuration();
      let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
      try {
        tokens = await client.authorizationCodeGrant(config, callbackUrl, {
          expectedState: checks.state,
          expectedNonce: checks.nonce,
          pkceCodeVerifier: checks.codeVerifier,
          idTokenExpected: true,
        });
      } catch (e) {
        throw asFailure(e, "the code exchange");
      }
      const idClaims = tokens.claims()!;
      let info: Record<string, unknown> = {};
      if (config.serverMetadata().userinfo_endpoint)
        try {
          // groups and names often come only from UserInfo; its `sub` must be the ID token's
          info = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
        } catch (e) {
          // without UserInfo the groups may be missing, which would lower roles: refuse instead
          throw asFailure(e, "reading UserInfo");
        }
      const claims: Record<string, unknown> = { ...idClaims, ...info };
      const names = [claims.name, claims.preferred_username].filter((n): n is string => typeof n === "string");
      const email =
        typeof claims.email === "string" && claims.email.includes("@") && claims.email.length <= 254
          ? claims.email
          : undefined;
      return {
        issuer: config.serverMetadata().issuer,
        subject: idClaims.sub,
        names,
        ...(email ? { email } : {}),
        groups: groupsFrom(claims[settings.groupsClaim]),
      };
    },
  };
}

export type OidcClient = ReturnType<typeof createOidcClient>;

/** The redirect URI for a public URL: `<public URL>/auth/oidc/callback` (register it at the provider). */
export function oidcRedirectUri(publicUrl: URL): string {
  return `${publicUrl.origin}${publicUrl.pathname.replace(/\/+$/, "")}/auth/oidc/callback`;
}
