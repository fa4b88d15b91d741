/**
 * Removes secrets (the values of a plugin's allowed env vars) from text the host hands out:
 * outputs, warnings, error messages and log lines. A plugin may leak a secret in a transformed
 * form, so each value is also removed as it appears inside a JSON string (once and twice escaped:
 * `"` → `\"`, `\` → `\\`, newline → `\n`, ...) and percent-encoded.
 */

/** Values shorter than this are not treated as secrets: they would match ordinary text. */
export const MIN_SECRET_LENGTH = 4;

/** What a removed secret is replaced with. */
export const REDACTED = "[redacted]";

/**
 * Builds a scrubber for the given secret values.
 * @returns a function mapping text to the same text with every form of every secret replaced by
 *   {@link REDACTED}. With no secrets it returns its input unchanged.
 */
export function makeScrubber(secrets: Iterable<string>): (text: string) => string {
  const forms = new Set<string>();
  for (const s of secrets) {
    if (s.length < MIN_SECRET_LENGTH) continue;
    const once = JSON.stringify(s).slice(1, -1);
    const twice = JSON.stringify(once).slice(1, -1);
    for (const f of [s, once, twice, encodeURIComponent(s)]) forms.add(f);
  }
  if (forms.size === 0) return (text) => text;
  // Longest first, so a form that contains another is replaced whole.
  const ordered = [...forms].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const f of ordered) if (out.includes(f)) out = out.split(f).join(REDACTED);
    return out;
  };
}
