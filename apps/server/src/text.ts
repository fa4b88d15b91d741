/**
 * Checks for text people type into names and titles: the characters that make a title lie about
 * itself (bidirectional overrides reorder what is shown; control characters hide or break lines).
 */

/** Names of the invisible characters refused in titles and names, for the error message. */
const NAMED: Record<number, string> = {
  8206: "LEFT-TO-RIGHT MARK",
  8207: "RIGHT-TO-LEFT MARK",
  8234: "LEFT-TO-RIGHT EMBEDDING",
  8235: "RIGHT-TO-LEFT EMBEDDING",
  8236: "POP DIRECTIONAL FORMATTING",
  8237: "LEFT-TO-RIGHT OVERRIDE",
  8238: "RIGHT-TO-LEFT OVERRIDE",
  8294: "LEFT-TO-RIGHT ISOLATE",
  8295: "RIGHT-TO-LEFT ISOLATE",
  8296: "FIRST STRONG ISOLATE",
  8297: "POP DIRECTIONAL ISOLATE",
  1564: "ARABIC LETTER MARK",
  8232: "LINE SEPARATOR",
  8233: "PARAGRAPH SEPARATOR",
  65279: "ZERO WIDTH NO-BREAK SPACE",
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
