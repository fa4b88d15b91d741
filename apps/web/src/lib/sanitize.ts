/** Sanitising server-provided HTML fragments (search snippets) with DOMPurify. */
import DOMPurify from "dompurify";

/** Keeps only `<mark>` from a server snippet (the server escapes the rest; this is belt and braces). */
export function sanitizeSnippet(html: string, win: Window & typeof globalThis = window): string {
  return DOMPurify(win).sanitize(html, { ALLOWED_TAGS: ["mark"], ALLOWED_ATTR: [] });
}
