/**
 * Markdown → sanitised HTML for markdown cells and `text/markdown` outputs. marked renders GFM;
 * DOMPurify then removes scripts, event handlers, styles, forms and frames. Links keep only
 * http(s), mailto and in-page targets and open in a new tab without an opener.
 */
import DOMPurify, { type DOMPurify as Purifier } from "dompurify";
import { Marked } from "marked";

const SAFE_HREF = /^(https?:|mailto:|#|\/(?!\/))/i;

/** Builds a renderer bound to `window` (browser only). Returns `(markdown) => safe HTML string`. */
export function createMarkdownRenderer(win: Window & typeof globalThis = window): (source: string) => string {
  const marked = new Marked({ gfm: true, breaks: false, async: false });
  const purify: Purifier = DOMPurify(win);
  purify.addHook("afterSanitizeAttributes", (node) => {
    if (node.tagName === "A") {
      const href = node.getAttribute("href") ?? "";
      if (!SAFE_HREF.test(href.trim())) node.removeAttribute("href");
      if (!href.startsWith("#")) {
        node.setAttribute("target", "_blank");
        node.setAttribute("rel", "noopener noreferrer nofollow");
      }
    }
    if (node.tagName === "IMG") {
      const src = node.getAttribute("src") ?? "";
      if (!/^(https?:|\/(?!\/))/i.test(src.trim())) node.removeAttribute("src");
    }
  });
  return (source: string) =>
    purify.sanitize(marked.parse(source) as string, {
      FORBID_TAGS: [
        "style",
        "form",
        "input",
        "button",
        "textarea",
        "select",
        "iframe",
        "object",
        "embed",
        "svg",
        "math",
      ],
      FORBID_ATTR: ["style"],
      ADD_ATTR: ["target"],
    });
}
