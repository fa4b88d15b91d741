/** Longest cell name shown (code points); longer ones end in "…". */
const NAME_CHARS = 60;

/**
 * A cell's name for people: its first Markdown heading (or `#` comment line), else its first line
 * that is not a `@key=value` header, cut at {@link NAME_CHARS} with "…"; `cell <id>` when the
 * source has neither. `source` is the cell text (the document's, or the run's when the cell is gone).
 */
export function cellName(id: string, source: string | undefined): string {
  const lines = (source ?? "")
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !/^@[\w.-]+=/.test(l));
  const heading = lines.find((l) => /^#{1,6}\s+\S/.test(l));
  const name = (heading ? heading.replace(/^#{1,6}\s+/, "") : lines[0]) ?? "";
  const chars = [...name];
  if (!chars.length) return `cell ${id}`;
  return chars.length > NAME_CHARS ? `${chars.slice(0, NAME_CHARS - 1).join("")}…` : name;
}
