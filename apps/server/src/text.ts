/**
 * Checks for text people type into names and titles: the characters that make a title lie about
 * itself (bidirectional overrides reorder what is shown; control characters hide or break lines).
 */

/** Names of the invisible characters refused in titles and names, for the error message. */
const NAMED: Record<number, string> = {
  0x200e: "LEFT-TO-RIGHT MARK",
  0x200f: "RIGHT-TO-LEFT MARK",
  0x202a: "LEFT-TO-RIGHT EMBEDDING",
  0x202b: "RIGHT-TO-LEFT EMBEDDING",
  0x202c: "POP DIRECTIONAL FORMATTING",
  0x202d: "LEFT-TO-RIGHT OVERRIDE",
  0x202e: "RIGHT-TO-LEFT OVERRIDE",
  0x2066: "LEFT-TO-RIGHT ISOLATE",
  0x2067: "RIGHT-TO-LEFT ISOLATE",
  0x2068: "FIRST STRONG ISOLATE",
  0x2069: "POP DIRECTIONAL ISOLATE",
  0x061c: "ARABIC LETTER MARK",
  0x2028: "LINE SEPARATOR",
  0x2029: "PARAGRAPH SEPARATOR",
  0xfeff: "ZERO WIDTH NO-BREAK SPACE",
};

/** The first refused character in `text` with its position (0-based, in code points), or undefined. */
export function refusedCharacter(text: string): { at: number; name: string } | undefined {
  let at = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (NAMED[cp]) return { at, name: `U+${cp.toString(16).toUpperCase().padStart(4, "0")} ${NAMED[cp]}` };
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
      const label = cp === 0x0a ? " (a line break)" : cp === 0x09 ? " (a tab)" : " (a control character)";
      return { at, name: `U+${cp.toString(16).toUpperCase().padStart(4, "0")}${label}` };
    }
    at++;
  }
  return undefined;
}

/**
 * Trims and checks one line of text a person typed (a title, a display name, a label): a string,
 * not blank unless `allowEmpty`, at most `maxChars` characters, without control or bidirectional
 * formatting characters. Returns the trimmed text; throws `{ kind: "bad-input" }` naming `field`
 * and what to change.
 */
export function checkLine(value: unknown, field: string, maxChars: number, allowEmpty = false): string {
  if (typeof value !== "string") throw { kind: "bad-input", message: `${field} must be a string` };
  const t = value.trim();
  if (!t && !allowEmpty) throw { kind: "bad-input", message: `${field} must not be empty` };
  const n = [...t].length;
  if (n > maxChars)
    throw { kind: "bad-input", message: `${field} is ${n} characters long; keep it to ${maxChars} characters` };
  const bad = refusedCharacter(t);
  if (bad)
    throw {
      kind: "bad-input",
      message: `${field} contains ${bad.name} at character ${bad.at + 1}; remove it (such characters can make text display differently from what it says)`,
    };
  return t;
}
