/**
 * Why a single sign-on attempt (OpenID Connect) did not sign the person in. The server redirects
 * the browser to `/signin?problem=<key>`; the sign-in page shows the sentence. docs/security.md
 * ("OpenID Connect") says when each happens.
 */
export const OIDC_PROBLEMS = {
  "oidc-off": "Single sign-on is not set up on this server: sign in with your Databook username and password.",
  "oidc-unavailable":
    "The sign-in provider could not be reached. Try again in a minute; if it keeps failing, tell an admin.",
  "oidc-denied": "Sign-in was cancelled at the provider, so you are not signed in.",
  "oidc-busy":
    "Databook could not keep track of your sign-in just now. Try again in a minute; if it keeps failing, tell an admin.",
  "oidc-expired":
    "That sign-in attempt is no longer valid: it took over 10 minutes, was already used, or the server restarted. Start again.",
  "oidc-state":
    "That answer from the sign-in provider does not belong to a sign-in started in this browser, so it was refused. Start again here.",
  "oidc-failed":
    "The sign-in provider's answer could not be verified. Try again; if it keeps failing, tell an admin (the server log says why).",
  "oidc-not-allowed":
    "Your account at the sign-in provider is not in a group allowed to use Databook. Ask an admin to add you to one.",
  "oidc-disabled": "Your Databook account is disabled. Ask an admin to enable it.",
} as const;

/** One of the keys of {@link OIDC_PROBLEMS} (the `problem` query value). */
export type OidcProblem = keyof typeof OIDC_PROBLEMS;
