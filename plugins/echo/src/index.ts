/**
 * The echo plugin: the smallest complete Databook plugin, kept as the reference for plugin
 * authors. It implements the `plugin` world in wit/plugin.wit:
 *
 * - `describe()` says what the plugin is and which `@key=value` options it accepts;
 * - `invoke(request)` returns an output `{ contentType, body, warnings }`, or *throws* a
 *   `{ kind, message }` plugin error (componentize-js maps a thrown value to the `err` case of
 *   the WIT `result`).
 *
 * Build: `npm run build -w plugins/echo` (bundles this file and runs componentize-js).
 */

/** The request record of wit/plugin.wit, as componentize-js hands it to JavaScript. */
type Request = {
  input: string;
  options: [string, string][];
  timeRange?: { startMs: bigint; endMs: bigint; stepMs?: bigint };
  user: string;
  requestId: string;
};
type Output = { contentType: string; body: string; warnings: string[] };
type PluginError = { kind: "bad-input" | "upstream" | "denied" | "internal"; message: string };

const OPTIONS = [
  { name: "case", description: "Change the letter case: `upper`, `lower` or `keep` (default).", action: false },
  { name: "repeat", description: "Repeat the input N times, one per line (1 to 100, default 1).", action: false },
  { name: "format", description: "Content type of the output: `text` (default), `markdown` or `json`.", action: false },
];

const FORMATS: Record<string, string> = {
  text: "text/plain",
  markdown: "text/markdown",
  json: "application/json",
};

/** Says what echo does and which options it accepts; the host calls it once per load. */
export function describe() {
  return {
    description: "Echoes the cell's input back, optionally transformed.",
    version: "0.1.0",
    options: OPTIONS,
    contentTypes: Object.values(FORMATS),
  };
}

/** Runs one call: the input comes back as the body. Throws a PluginError for bad options. */
export function invoke(req: Request): Output {
  const warnings: string[] = [];
  let text = req.input;
  let repeat = 1;
  let format = "text";
  for (const [key, value] of req.options) {
    if (key === "case") {
      if (value === "upper") text = text.toUpperCase();
      else if (value === "lower") text = text.toLowerCase();
      else if (value !== "keep") fail(`@case=${value} is not valid: use upper, lower or keep`);
    } else if (key === "repeat") {
      repeat = Number(value);
      if (!Number.isInteger(repeat) || repeat < 1 || repeat > 100)
        fail(`@repeat=${value} is not valid: use a whole number from 1 to 100`);
    } else if (key === "format") {
      if (!(value in FORMATS)) fail(`@format=${value} is not valid: use text, markdown or json`);
      format = value;
    } else {
      warnings.push(`echo ignores the option @${key}`);
    }
  }
  const body = Array.from({ length: repeat }, () => text).join("\n");
  if (format === "json") return { contentType: FORMATS.json!, body: JSON.stringify({ input: body }), warnings };
  return { contentType: FORMATS[format]!, body, warnings };
}

function fail(message: string): never {
  const error: PluginError = { kind: "bad-input", message };
  throw error;
}
