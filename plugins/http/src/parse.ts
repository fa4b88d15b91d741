import { PluginError } from "@databook/plugin-sdk";

/** A request as written in the cell, before env references in headers are filled in. */
export type HttpRequestSpec = {
  method: string;
  url: string;
  /** Header lines in order, values as written (may contain `${VAR}`). */
  headers: [string, string][];
  /** Everything after the blank line that ends the headers; undefined when there is none. */
  body?: string;
};

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Parses a request written like an `.http` file: optional comment lines (`#`, `//`), then
 * `METHOD URL [HTTP/1.1]` (or just a URL for GET), then `Name: value` header lines, a blank line,
 * and the body.
 * @throws PluginError (bad-input) naming the line that is wrong and showing the expected form.
 */
export function parseHttpRequest(text: string): HttpRequestSpec {
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  let i = 0;
  while (i < lines.length && isSkippable(lines[i] as string)) i++;
  if (i >= lines.length) {
    fail(
      "the cell has no request: write `GET https://host/path` on the first line, then headers, a blank line and the body",
    );
  }
  const first = (lines[i] as string).trim();
  const parts = first.split(/\s+/);
  let method = "GET";
  let url: string;
  if (parts.length === 1) {
    url = parts[0] as string;
  } else {
    method = (parts[0] as string).toUpperCase();
    url = parts[1] as string;
    if (!METHODS.includes(method))
      fail(`line ${i + 1}: ${parts[0]} is not an HTTP method; use one of ${METHODS.join(", ")}`);
    if (parts.length > 3 || (parts[2] !== undefined && !/^HTTP\/[\d.]+$/i.test(parts[2]))) {
      fail(`line ${i + 1}: expected \`METHOD URL\` or \`METHOD URL HTTP/1.1\`, got ${JSON.stringify(first)}`);
    }
  }
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
    fail(`line ${i + 1}: ${JSON.stringify(url)} is not an absolute http:// or https:// URL`);
  }
  if (ENV_REF.test(url)) {
    fail(`line ${i + 1}: \${…} references are only allowed in header values (so secrets never show up in the output)`);
  }
  const headers: [string, string][] = [];
  i++;
  for (; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === "") {
      i++;
      break;
    }
    if (/^\s*(#|\/\/)/.test(line)) continue;
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon).trim() : "";
    if (!HEADER_NAME.test(name)) {
      fail(
        `line ${i + 1}: expected a header \`Name: value\`, got ${JSON.stringify(line)} (leave a blank line before the body)`,
      );
    }
    headers.push([name, line.slice(colon + 1).trim()]);
  }
  const spec: HttpRequestSpec = { method, url, headers };
  const body = lines.slice(i).join("\n").replace(/\n+$/, "");
  if (i < lines.length && body !== "") {
    if (method === "GET" || method === "HEAD") fail(`a ${method} request cannot have a body; use POST, PUT or PATCH`);
    ENV_REF.lastIndex = 0;
    if (ENV_REF.test(body)) {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: names the .http ${VAR} syntax literally
      fail("${…} references are only allowed in header values (so secrets never show up in the output)");
    }
    spec.body = body;
  }
  return spec;
}

/**
 * Fills `${VAR}` references in header values from `env` (the plugin's allowed env vars).
 * @returns the headers and the values used (secrets to scrub from the output).
 * @throws PluginError (bad-input) naming a variable that is not available and how to allow it.
 */
export function resolveHeaders(
  headers: [string, string][],
  env: (name: string) => string | undefined,
): { headers: [string, string][]; secrets: string[] } {
  const secrets: string[] = [];
  const out = headers.map(([name, value]): [string, string] => [
    name,
    value.replace(ENV_REF, (_, v: string) => {
      const resolved = env(v);
      if (resolved === undefined) {
        fail(
          `\${${v}} in the ${name} header is not available: set ${v} in the Databook server's environment and list it in allowed_env_vars in this plugin's config.toml`,
        );
      }
      secrets.push(resolved);
      return resolved;
    }),
  ]);
  return { headers: out, secrets };
}

function isSkippable(line: string): boolean {
  const t = line.trim();
  return t === "" || t.startsWith("#") || t.startsWith("//");
}

function fail(message: string): never {
  throw new PluginError("bad-input", message);
}
