/** Signing in and out, the caller's own account, and their API tokens (docs/api.md). */
import type { TokenScope } from "@databook/wire";
import { enc, type Http } from "./http.ts";
import type { Account, ApiToken, AuthConfig, Me } from "./types.ts";

export function identityCalls(http: Http) {
  return {
    authConfig: () => http.json<AuthConfig>("/api/auth/config", undefined, { expect401: true }),
    /** Local sign-in; a wrong name or password is a 401 with one message for both. */
    signIn: (username: string, password: string) =>
      http.send<{ account: Account }>("POST", "/api/auth/signin", { username, password }, { expect401: true }),
    signOut: () => http.send<{ ok: true }>("POST", "/api/auth/signout", undefined, { expect401: true }),
    /** Ends every session of the account (all browsers); the caller's too. */
    signOutEverywhere: () =>
      http.send<{ ok: true; sessionsEnded: number }>("POST", "/api/auth/signout-everywhere", undefined, {
        expect401: true,
      }),
    /** Who the session is; a 401 (ApiError) when signed out. */
    me: () => http.json<Me>("/api/me", undefined, { expect401: true }),
    /** Changes the display name and/or the password (`currentPassword` when one is set). */
    updateMe: (body: { displayName?: string; password?: string; currentPassword?: string }) =>
      http.send<{ account: Account }>("PATCH", "/api/me", body).then((r) => r.account),
    tokens: () => http.json<{ tokens: ApiToken[] }>("/api/tokens").then((r) => r.tokens),
    /** Creates an API token; `secret` is shown this once. */
    createToken: (body: { name: string; scopes: TokenScope[]; expiresAtMs?: number }) =>
      http.send<{ token: ApiToken; secret: string }>("POST", "/api/tokens", body),
    /** Revokes one of the caller's tokens (an admin: anyone's). */
    revokeToken: (tokenId: string) =>
      http.send<{ token: ApiToken }>("DELETE", `/api/tokens/${enc(tokenId)}`).then((r) => r.token),
  };
}
