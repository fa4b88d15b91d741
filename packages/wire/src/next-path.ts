/**
 * Where to send the browser after sign-in: a path on this server, never another site (open
 * redirects let a phishing link borrow Databook's address). One rule for the server (the OpenID
 * Connect return address) and the sign-in page (`?next=`).
 */

/** A backslash, space or control character: none belongs in a path Databook links to. */
const unsafeChar = (ch: string) => {
  const c = ch.codePointAt(0)!;
  return ch === "\\" || c <= 0x20 || c === 0x7f;
};

/** Longest `next` kept (characters); longer ones fall back to "/". */
const MAX_NEXT_CHARS = 2000;

/**
 * `value` when it is a same-site relative path — starts with one `/`, no `//` or `/\` (browsers
 * read both as another host), no backslash or control character anywhere, and stays on this
 * origin once resolved — as path + query + fragment; "/" for anything else (absent, absolute URLs,
 * `javascript:`…).
 */
export function safeNextPath(value: unknown): string {
  if (typeof value !== "string" || value.length > MAX_NEXT_CHARS) return "/";
  // control characters and spaces are dropped by URL parsers, which can turn "/\t/evil" into "//evil"
  if (!value.startsWith("/") || value.startsWith("//") || [...value].some(unsafeChar)) return "/";
  const base = "http://databook.invalid";
  let u: URL;
  try {
    u = new URL(value, base);
  } catch {
    return "/";
  }
  if (u.origin !== base) return "/";
  return `${u.pathname}${u.search}${u.hash}`;
}
