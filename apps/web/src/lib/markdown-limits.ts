/**
 * Limits on what is rendered as Markdown (cells and `text/markdown` outputs), so that one odd cell
 * — 2,000 nested quotes, a megabyte of text — renders as plain text with a reason instead of
 * taking the page down (marked recurses per nesting level).
 */

/** Largest Markdown source rendered, in characters. */
export const MAX_MARKDOWN_CHARS = 200_000;
/** Deepest nesting of block quotes or list items rendered. */
export const MAX_MARKDOWN_NESTING = 24;

/** Why `source` is not rendered as Markdown (a sentence for the reader), or undefined when it may be. */
export function markdownProblem(source: string): string | undefined {
  if (source.length > MAX_MARKDOWN_CHARS)
    return `it is ${source.length.toLocaleString("en")} characters long (at most ${MAX_MARKDOWN_CHARS.toLocaleString("en")} are rendered)`;
  let deepest = 0;
  for (const line of source.split("\n")) {
    // quote markers and list indentation at the start of a line, each one nesting level
    const quotes = /^(?:\s{0,3}>)+/.exec(line)?.[0].split(">").length ?? 1;
    const indent = /^ */.exec(line)![0].length;
    const depth = Math.max(quotes - 1, Math.floor(indent / 2));
    if (depth > deepest) deepest = depth;
    if (deepest > MAX_MARKDOWN_NESTING)
      return `it nests ${depth} levels deep (at most ${MAX_MARKDOWN_NESTING} are rendered)`;
  }
  return undefined;
}
