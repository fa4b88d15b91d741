/**
 * Where to go after signing in. `next` comes from the address bar, so anyone can craft it: only a
 * path on this site is followed (never `//host`, `/\host`, `https://…` or `javascript:`), anything
 * else falls back to the home page.
 */

/** A same-site path+query+hash for `raw` (a `?next=` value), or "/" when it points anywhere else. */
export function safeNext(raw: string | null | undefined): string {
  if (!raw || !raw.startsWith("/") || raw.startsWith("//") || raw.startsWith("/\\")) return "/";
  let u: URL;
  try {
    u = new URL(raw, "http://databook.invalid");
  } catch {
    return "/";
  }
  if (u.origin !== "http://databook.invalid") return "/";
  // the sign-in page itself is no place to come back to
  if (u.pathname === "/signin") return "/";
  return `${u.pathname}${u.search}${u.hash}`;
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
