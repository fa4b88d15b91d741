/**
 * Where to go after signing in. `next` comes from the address bar, so anyone can craft it: it is
 * followed only when it is a path on this site (`safeNextPath` from @databook/wire, the rule the
 * server applies to the single sign-on return address too); anything else goes to the home page.
 */
import { safeNextPath } from "@databook/wire";

/** A same-site path+query+hash for `raw` (a `?next=` value), or "/"; never the sign-in page itself. */
export function safeNext(raw: string | null | undefined): string {
  const next = safeNextPath(raw);
  return next === "/signin" || next.startsWith("/signin?") || next.startsWith("/signin#") ? "/" : next;
}

/** The sign-in page's address that comes back to `here` (a location) afterwards. */
export function signInHref(here: { pathname: string; search: string; hash: string }, problem?: string): string {
  const q = new URLSearchParams();
  if (problem) q.set("problem", problem);
  const next = safeNext(`${here.pathname}${here.search}${here.hash}`);
  if (next !== "/") q.set("next", next);
  const qs = q.toString();
  return `/signin${qs ? `?${qs}` : ""}`;
}
