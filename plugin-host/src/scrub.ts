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
 * The values to scrub in one call: the value of every allowed env var that is set, except those
 * named in `publicVars` (config.toml `public_env_vars`, e.g. a server URL), of which only the
 * user info of any URL inside stays secret (see {@link userInfoSecrets}).
 * @param env `[name, value]` pairs of the plugin's allowed env vars that are set.
 */
export function secretValues(env: readonly (readonly [string, string])[], publicVars: readonly string[]): string[] {
  const out: string[] = [];
  for (const [name, value] of env) {
    if (publicVars.includes(name)) out.push(...userInfoSecrets(value));
    else out.push(value);
  }
  return out;
}

/**
 * The secret parts of the user info of every URL in `text` (`scheme://user:password@host`):
 * the password and the whole `user:password` pair, raw and percent-decoded. Without a password
 * the user name itself is the secret (`https://TOKEN@host`, as some APIs take tokens). A user
 * name beside a password is not scrubbed on its own: it is often an ordinary word ("prometheus")
 * that would be erased from outputs.
 */
export function userInfoSecrets(text: string): string[] {
  const out = new Set<string>();
  // Greedy up to the last "@" before the path, as URL parsers split the authority.
  for (const m of text.matchAll(/[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^\s/?#]*)@/g)) {
    const info = m[1] ?? "";
    if (info === "") continue;
    const colon = info.indexOf(":");
    const parts = colon < 0 ? [info] : [info, info.slice(colon + 1)];
    for (const part of parts) {
      if (part === "") continue;
      out.add(part);
      try {
        out.add(decodeURIComponent(part));
      } catch {
        // Not valid percent-encoding: the raw form is all a plugin could have read.
      }
    }
  }
  return [...out];
}

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
