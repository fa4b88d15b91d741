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

/** Length of the longest form {@link makeScrubber} removes for these secrets (0 for none). */
export function longestSecretForm(secrets: Iterable<string>): number {
  let max = 0;
  for (const s of secrets) {
    if (s.length < MIN_SECRET_LENGTH) continue;
    const once = JSON.stringify(s).slice(1, -1);
    for (const f of [s, once, JSON.stringify(once).slice(1, -1), encodeURIComponent(s)]) max = Math.max(max, f.length);
  }
  return max;
}

/**
 * Turns a stream of text chunks (a plugin's stdout or stderr) into scrubbed lines. A secret may
 * contain a newline or arrive split across chunks, so text is scrubbed before it is split, and the
 * last `holdBack` characters (the longest secret form, less one) wait for more text or `end()`:
 * they could be the start of a secret whose rest has not arrived yet.
 */
export function createLineScrubber(scrub: (text: string) => string, holdBack: number, emit: (line: string) => void) {
  let pending = "";
  return {
    push(text: string): void {
      pending = scrub(pending + text);
      const safeEnd = pending.length - holdBack;
      if (safeEnd <= 0) return;
      const cut = pending.lastIndexOf("\n", safeEnd - 1);
      if (cut < 0) return;
      const done = pending.slice(0, cut);
      pending = pending.slice(cut + 1);
      for (const line of done.split("\n")) emit(line);
    },
    end(): void {
      pending = scrub(pending);
      if (pending === "") return;
      const lines = pending.split("\n");
      if (lines.at(-1) === "") lines.pop();
      pending = "";
      for (const line of lines) emit(line);
    },
  };
}
