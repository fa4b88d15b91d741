import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_MARKDOWN_CHARS, markdownProblem } from "./markdown-limits.ts";

test("ordinary Markdown passes, deep nesting and huge sources are refused with a reason", () => {
  assert.equal(markdownProblem("# Title\n\n> a quote\n> > nested\n\n- a\n  - b\n    - c"), undefined);
  assert.match(markdownProblem(">".repeat(2000)) ?? "", /nests 2000 levels deep \(at most 24/);
  assert.match(markdownProblem("> ".repeat(30)) ?? "", /nests 30 levels/);
  assert.match(markdownProblem(`${" ".repeat(80)}- deep list`) ?? "", /nests 40 levels/);
  assert.match(markdownProblem("x".repeat(MAX_MARKDOWN_CHARS + 1)) ?? "", /characters long/);
});
