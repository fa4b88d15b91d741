/** Cell helpers that need no runes: parsing a source for the UI, making cell ids. */
import { CellSyntaxError, parseCell } from "@databook/cell-syntax";

/** What the shared parser says about a cell's source. `invalid` keeps the message to show. */
export type CellParse =
  | { kind: "markdown" }
  | { kind: "query"; plugin: string; options: [string, string][]; headerLines: number }
  | { kind: "invalid"; plugin: string | undefined; message: string; line?: number };

/** Parses with @databook/cell-syntax, never throwing: a bad header becomes `invalid`. */
export function parseSource(source: string): CellParse {
  try {
    const p = parseCell(source);
    if (p.kind === "markdown") return p;
    return { kind: "query", plugin: p.plugin, options: p.options, headerLines: p.headerLines };
  } catch (err) {
    const plugin = /(?:^|\s)@plugin=([^\s"]+)/.exec(source)?.[1];
    if (err instanceof CellSyntaxError) return { kind: "invalid", plugin, message: err.message, line: err.line };
    return { kind: "invalid", plugin, message: String(err) };
  }
}

/** A cell id as docs/ydoc-schema.md asks: 12 characters of [A-Za-z0-9_-]. */
export function newCellId(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => alphabet[b & 63]).join("");
}
