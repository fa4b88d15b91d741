/** What replaces a secret's value wherever it would leave the plugin. */
export const REDACTED = "[redacted]";

/**
 * Replaces every occurrence of each secret in `text` with {@link REDACTED}. Longer secrets are
 * replaced first so a secret that contains another is not half-replaced. Secrets shorter than
 * 4 characters are ignored: replacing them would mangle ordinary text and hides nothing.
 */
export function scrub(text: string, secrets: Iterable<string>): string {
  const list = [...new Set(secrets)].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  let out = text;
  for (const secret of list) out = out.split(secret).join(REDACTED);
  return out;
}

/**
 * Removes user info (`user:password@`) from a URL so it can be shown in messages. Returns the
 * input unchanged when it is not a URL.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return url;
  }
}
