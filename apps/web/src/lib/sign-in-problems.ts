/**
 * Plain-words explanations of the `problem` the server puts on `/signin?problem=…` when a link did
 * not work (apps/server/src/routes/auth.ts for the first-admin link, routes/web.ts for share links
 * and old `?token=` links), when single sign-on did not sign the person in (`oidc-*`, whose
 * sentences are `OIDC_PROBLEMS` in @databook/wire) — and `session-ended`, which the page sets
 * itself. `forNotebook` is true when the link was for a notebook (`next=/n/…`).
 */
import { OIDC_PROBLEMS, type OidcProblem } from "@databook/wire";

export type SignInProblem = { title: string; body: string };

/** The explanation for a `problem` value; undefined for none or one this page does not know. */
export function explainProblem(problem: string | null, forNotebook: boolean): SignInProblem | undefined {
  switch (problem) {
    case "link-used":
      return {
        title: "This sign-in link was already used",
        body: "The first-admin link works only once. Sign in with a username and password below; if you have none, ask the admin who used the link to add you under Admin.",
      };
    case "link-expired":
      return {
        title: "This sign-in link has expired",
        body: "The first-admin link is valid for 15 minutes. Restart databook serve: while there are no accounts it prints a new one.",
      };
    case "link-not-needed":
      return {
        title: "An admin account exists already",
        body: "The first-admin link is only for an empty Databook. Sign in with your account; an admin can add one for you.",
      };
    case "link-revoked":
      return {
        title: "This share link no longer works",
        body: "It was revoked or has expired. Ask the person who shared the notebook for a new link, or sign in if you have an account.",
      };
    case "link-unknown":
      return forNotebook
        ? {
            title: "This share link is not valid",
            body: "It may have been copied incompletely, or it belongs to another notebook. Ask the person who shared it to send the link again, or sign in if you have an account.",
          }
        : {
            title: "This sign-in link is not valid",
            body: "Check that it was copied whole, or sign in with your username and password.",
          };
    case "session-ended":
      // set by the page itself (a request answered 401 while it was open)
      return {
        title: "Your session ended",
        body: "You were signed out: the session expired, was ended from another browser, or an admin changed your account. Sign in again to carry on where you were.",
      };
    case "editor-link-retired":
      return {
        title: "Editor links were retired",
        body: "Editing now needs an account: sign in below. If you still cannot edit the notebook afterwards, ask one of its owners to give you the editor role.",
      };
    default:
      if (problem && Object.hasOwn(OIDC_PROBLEMS, problem))
        return { title: "Single sign-on did not sign you in", body: OIDC_PROBLEMS[problem as OidcProblem] };
      return undefined;
  }
}
