/**
 * Rewrites the `?` placeholders of store SQL (docs/operations.md, "Store SQL") into PostgreSQL's
 * numbered `$1, $2, …`, in order. A `?` inside a '…' or E'…' string, a "…" identifier, a
 * $tag$…$tag$ string, a `--` line comment or a (nested) block comment is text and left alone.
 * So PostgreSQL's jsonb operators `?`, `?|`, `?&` cannot be written in store SQL: use
 * `jsonb_exists()`, `jsonb_exists_any()`, `jsonb_exists_all()`.
 * Returns the rewritten text and how many placeholders it has.
 */
export function numberPlaceholders(sql: string): { text: string; count: number } {
  let out = "";
  let count = 0;
  let i = 0;
  let from = 0; // start of the not yet copied part
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    if (c === "?") {
      out += `${sql.slice(from, i)}$${++count}`;
      from = ++i;
    } else if (c === "'") {
      // E'…' (or e'…') strings take backslash escapes; standard strings only ''
      const escapes = i > 0 && (sql[i - 1] === "E" || sql[i - 1] === "e") && !/[\w$]/.test(sql[i - 2] ?? "");
      i++;
      while (i < n) {
        if (escapes && sql[i] === "\\") i += 2;
        else if (sql[i] === "'") {
          if (sql[i + 1] === "'") i += 2;
          else break;
        } else i++;
      }
      i++;
    } else if (c === '"') {
      i = sql.indexOf('"', i + 1);
      while (i !== -1 && sql[i + 1] === '"') i = sql.indexOf('"', i + 2);
      i = i === -1 ? n : i + 1;
    } else if (c === "-" && sql[i + 1] === "-") {
      i = sql.indexOf("\n", i);
      if (i === -1) i = n;
    } else if (c === "/" && sql[i + 1] === "*") {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        const pair = sql.slice(i, i + 2);
        if (pair === "/*" || pair === "*/") {
          depth += pair === "/*" ? 1 : -1;
          i += 2;
        } else i++;
      }
    } else if (c === "$" && !/[\w$]/.test(sql[i - 1] ?? "")) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64))?.[0];
      if (tag) {
        const end = sql.indexOf(tag, i + tag.length);
        i = end === -1 ? n : end + tag.length;
      } else i++;
    } else i++;
  }
  return { text: out + sql.slice(from), count };
}
