/**
 * A plugin folder's `config.toml`: parsed with smol-toml and checked against {@link CONFIG_SCHEMA}.
 * Every problem found gets its own message (all of them, not just the first), each naming the key,
 * what was wrong and what would be accepted, so an operator can fix the file in one go.
 */
import { parse, TomlError } from "smol-toml";
import { canonicalHost, neverAllowedHost } from "./net.ts";

/** Limits of one call, from `[limits]`, with the defaults of {@link CONFIG_SCHEMA}. */
export type Limits = {
  /** Wall-clock deadline of one call, from the moment a worker starts it (ms). */
  timeoutMs: number;
  /** Cap of the instance's linear memory (MiB). */
  memoryMb: number;
  /** Cap of the output body, UTF-8 bytes. */
  maxOutputBytes: number;
  /** Outbound HTTP requests allowed per call (each redirect hop counts). */
  maxHttpRequests: number;
  /** Largest body of one outbound HTTP request (bytes). */
  maxRequestBytes: number;
};

/**
 * One usable `allowed_hosts` entry. `host` is lower-case; a leading `*.` matches any subdomain
 * (at any depth) but not the bare domain. `port` is explicit or the scheme's default.
 */
export type HostRule = {
  /** The entry as written in config.toml (e.g. `${PROMETHEUS_URL}` or `https://*.example.com`). */
  entry: string;
  scheme: "http" | "https";
  host: string;
  port: number;
  wildcard: boolean;
  /** Set when the entry came from an env var; its value is a secret and is never shown. */
  fromEnv?: string;
};

/** A validated config.toml. Field names follow the TOML keys in camelCase. */
export type PluginConfig = {
  name: string;
  description: string;
  version: string;
  allowedEnvVars: string[];
  /**
   * The subset of `allowedEnvVars` whose values are not secrets (a server's URL), so messages can
   * show them. User info inside such a value (`https://user:password@host`) is still scrubbed.
   */
  publicEnvVars: string[];
  allowedHosts: HostRule[];
  /** `${VAR}` entries that are off (variable unset or not a URL), with the reason to show. */
  disabledHosts: { entry: string; reason: string }[];
  limits: Limits;
};

/** Outcome of {@link parseConfig}: the config and its warnings, or every problem found. */
export type ConfigResult = { ok: true; config: PluginConfig; warnings: string[] } | { ok: false; problems: string[] };

type FieldSpec =
  | { type: "string"; required: boolean; doc: string; pattern?: RegExp; hint?: string; maxLength: number }
  | { type: "string-list"; doc: string; item: RegExp; hint: string }
  | { type: "int"; doc: string; min: number; max: number; default: number };

/**
 * The schema of config.toml. Top-level keys, then the `[limits]` table. Unknown keys are errors
 * (a typo such as `timeout = 5` must not silently fall back to a default).
 */
export const CONFIG_SCHEMA = {
  top: {
    name: {
      type: "string",
      required: true,
      doc: "the plugin's name, used as @plugin=NAME in cells",
      pattern: /^[a-z][a-z0-9_-]{0,62}$/,
      hint: "lower-case letters, digits, '-' or '_', starting with a letter, at most 63 characters",
      maxLength: 63,
    },
    description: {
      type: "string",
      required: true,
      doc: "one or two sentences for people choosing a plugin",
      maxLength: 1000,
    },
    version: {
      type: "string",
      required: true,
      doc: "the plugin's version",
      pattern: /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/,
      hint: "a semantic version such as 1.2.0",
      maxLength: 100,
    },
    allowed_env_vars: {
      type: "string-list",
      doc: "environment variables of the server the plugin may read",
      item: /^[A-Za-z_][A-Za-z0-9_]*$/,
      hint: "an environment variable name such as PROMETHEUS_TOKEN",
    },
    public_env_vars: {
      type: "string-list",
      doc: "allowed env vars whose values are not secret (server URLs) and may appear in messages",
      item: /^[A-Za-z_][A-Za-z0-9_]*$/,
      hint: "the name of a variable listed in allowed_env_vars, such as PROMETHEUS_URL",
    },
    allowed_hosts: {
      type: "string-list",
      doc: "where the plugin may send HTTP requests",
      item: /^\S+$/,
      hint: 'scheme://host[:port] such as "https://*.example.com" or "${PROMETHEUS_URL}"',
    },
  },
  limits: {
    timeout_ms: { type: "int", doc: "deadline of one call in milliseconds", min: 1, max: 300_000, default: 10_000 },
    memory_mb: { type: "int", doc: "linear memory cap of one instance in MiB", min: 1, max: 4096, default: 128 },
    max_output_bytes: {
      type: "int",
      doc: "largest output body in bytes",
      min: 1,
      max: 64 * 1024 * 1024,
      default: 4 * 1024 * 1024,
    },
    max_http_requests: { type: "int", doc: "outbound HTTP requests per call", min: 0, max: 1000, default: 20 },
    max_request_bytes: {
      type: "int",
      doc: "largest body of one outbound HTTP request in bytes",
      min: 0,
      max: 64 * 1024 * 1024,
      default: 1024 * 1024,
    },
  },
} satisfies { top: Record<string, FieldSpec>; limits: Record<string, FieldSpec & { type: "int" }> };

const ENV_ENTRY = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

/**
 * Parses and validates config.toml text.
 * @param text the file's contents; `env` where `${VAR}` entries of allowed_hosts are read from
 *   (only variables listed in allowed_env_vars are ever read).
 * @returns the config, or `problems`: one message per problem, each starting with the key.
 */
export function parseConfig(text: string, env: Record<string, string | undefined>): ConfigResult {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) {
      const first = err.message.split("\n")[0] ?? err.message;
      return { ok: false, problems: [`not valid TOML at line ${err.line}, column ${err.column}: ${first}`] };
    }
    throw err;
  }
  const problems: string[] = [];
  const values: Record<string, unknown> = {};

  for (const key of Object.keys(doc)) {
    if (key !== "limits" && !(key in CONFIG_SCHEMA.top)) {
      problems.push(`unknown key "${key}" (known keys: ${[...Object.keys(CONFIG_SCHEMA.top), "[limits]"].join(", ")})`);
    }
  }
  for (const [key, spec] of Object.entries(CONFIG_SCHEMA.top) as [string, FieldSpec][]) {
    values[key] = checkField(key, doc[key], spec, problems);
  }

  const limits: Record<string, number> = {};
  const rawLimits = doc.limits ?? {};
  if (typeof rawLimits !== "object" || Array.isArray(rawLimits) || rawLimits === null || rawLimits instanceof Date) {
    problems.push(`"limits" must be a table ([limits] with ${Object.keys(CONFIG_SCHEMA.limits).join(", ")})`);
  } else {
    const table = rawLimits as Record<string, unknown>;
    for (const key of Object.keys(table)) {
      if (!(key in CONFIG_SCHEMA.limits)) {
        problems.push(
          `unknown key "limits.${key}" (known keys: ${Object.keys(CONFIG_SCHEMA.limits)
            .map((k) => `limits.${k}`)
            .join(", ")})`,
        );
      }
    }
    for (const [key, spec] of Object.entries(CONFIG_SCHEMA.limits)) {
      limits[key] = checkField(`limits.${key}`, table[key], spec, problems) as number;
    }
  }

  const allowedEnvVars = (values.allowed_env_vars as string[] | undefined) ?? [];
  const publicEnvVars = (values.public_env_vars as string[] | undefined) ?? [];
  for (const name of publicEnvVars) {
    if (!allowedEnvVars.includes(name)) {
      problems.push(
        `public_env_vars names ${name}, which is not in allowed_env_vars; add "${name}" to allowed_env_vars, or remove it from public_env_vars`,
      );
    }
  }
  const allowedHosts: HostRule[] = [];
  const disabledHosts: { entry: string; reason: string }[] = [];
  for (const entry of (values.allowed_hosts as string[] | undefined) ?? []) {
    const envMatch = ENV_ENTRY.exec(entry);
    if (envMatch) {
      const varName = envMatch[1]!;
      if (!allowedEnvVars.includes(varName)) {
        problems.push(
          `allowed_hosts entry "${entry}" names ${varName}, which is not in allowed_env_vars; add "${varName}" to allowed_env_vars`,
        );
        continue;
      }
      const value = env[varName];
      if (value === undefined || value === "") {
        disabledHosts.push({
          entry,
          reason: `allowed_hosts entry "${entry}" is disabled: ${varName} is not set in the server's environment`,
        });
        continue;
      }
      const rule = parseHostEntry(value, { allowPath: true });
      if (typeof rule === "string") {
        disabledHosts.push({
          entry,
          reason: `allowed_hosts entry "${entry}" is disabled: the value of ${varName} is not a URL like https://host[:port] (${rule})`,
        });
        continue;
      }
      allowedHosts.push({ ...rule, entry, fromEnv: varName });
      continue;
    }
    const rule = parseHostEntry(entry, { allowPath: false });
    if (typeof rule === "string") problems.push(`allowed_hosts entry "${entry}": ${rule}`);
    else allowedHosts.push({ ...rule, entry });
  }

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    config: {
      name: values.name as string,
      description: values.description as string,
      version: values.version as string,
      allowedEnvVars,
      publicEnvVars,
      allowedHosts,
      disabledHosts,
      limits: {
        timeoutMs: limits.timeout_ms!,
        memoryMb: limits.memory_mb!,
        maxOutputBytes: limits.max_output_bytes!,
        maxHttpRequests: limits.max_http_requests!,
        maxRequestBytes: limits.max_request_bytes!,
      },
    },
    warnings: disabledHosts.map((d) => d.reason),
  };
}

function checkField(key: string, value: unknown, spec: FieldSpec, problems: string[]): unknown {
  if (spec.type === "string") {
    if (value === undefined) {
      if (spec.required) problems.push(`"${key}" is missing: add ${key} = "..." (${spec.doc})`);
      return undefined;
    }
    if (typeof value !== "string") {
      problems.push(`"${key}" must be a string (${spec.doc}), not ${describeValue(value)}`);
      return undefined;
    }
    if (value.trim() === "") problems.push(`"${key}" must not be empty (${spec.doc})`);
    else if (value.length > spec.maxLength) problems.push(`"${key}" is longer than ${spec.maxLength} characters`);
    else if (spec.pattern && !spec.pattern.test(value))
      problems.push(`"${key}" = "${value}" is not valid: use ${spec.hint}`);
    return value;
  }
  if (spec.type === "string-list") {
    if (value === undefined) return [];
    if (!Array.isArray(value)) {
      problems.push(`"${key}" must be a list of strings (${spec.doc}), not ${describeValue(value)}`);
      return [];
    }
    const out: string[] = [];
    value.forEach((item, i) => {
      if (typeof item !== "string")
        problems.push(`"${key}"[${i}] must be a string (${spec.hint}), not ${describeValue(item)}`);
      else if (!spec.item.test(item)) problems.push(`"${key}"[${i}] = "${item}" is not valid: use ${spec.hint}`);
      else out.push(item);
    });
    return out;
  }
  if (value === undefined) return spec.default;
  if (typeof value === "bigint") value = Number(value);
  if (typeof value !== "number" || !Number.isInteger(value) || value < spec.min || value > spec.max) {
    problems.push(
      `"${key}" must be a whole number from ${spec.min} to ${spec.max} (${spec.doc}), not ${describeValue(value)}`,
    );
    return spec.default;
  }
  return value;
}

function describeValue(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (value instanceof Date) return "a date";
  if (typeof value === "object" && value !== null) return "a table";
  if (typeof value === "string") return `"${value}"`;
  return String(value);
}

/**
 * Parses `scheme://host[:port]` (host may be `*.domain`, an IPv4 address or a bracketed IPv6
 * address). With `allowPath` (values of env vars such as `http://prometheus:9090/prom`), a path is
 * accepted and ignored: only the origin is allowed. Returns the rule or a message saying what is wrong.
 */
export function parseHostEntry(entry: string, opts: { allowPath: boolean }): Omit<HostRule, "entry"> | string {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)([^?#]*)?(\?[^#]*)?(#.*)?$/.exec(entry);
  if (!m) return "use scheme://host[:port], e.g. https://api.example.com or http://127.0.0.1:9090";
  const scheme = m[1]!.toLowerCase();
  if (scheme !== "http" && scheme !== "https") return `scheme "${scheme}" is not supported: use http or https`;
  const authority = m[2]!;
  const rest = `${m[3] ?? ""}${m[4] ?? ""}${m[5] ?? ""}`;
  if (!opts.allowPath && rest !== "" && rest !== "/")
    return "only scheme://host[:port] is allowed, without a path, query or fragment";
  if (authority.includes("@")) return "user names and passwords are not allowed in allowed_hosts";
  const hp = /^(\[[0-9a-fA-F:.]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(authority);
  if (!hp) return "the host is missing or malformed";
  let host = hp[1]!.toLowerCase();
  const port = hp[2] === undefined ? (scheme === "https" ? 443 : 80) : Number(hp[2]);
  if (port < 1 || port > 65535) return `port ${hp[2]} is out of range (1 to 65535)`;
  let wildcard = false;
  if (host.startsWith("*.")) {
    wildcard = true;
    host = host.slice(2);
  }
  if (host.startsWith("[")) {
    if (wildcard) return "a wildcard cannot apply to an IP address";
    if (canonicalHost(host) === undefined) return `${host} is not a valid IPv6 address`;
  } else if (
    !/^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?)(\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?)*\.?$/.test(host)
  ) {
    return `"${host}" is not a valid host name ("*." is only allowed at the start)`;
  } else if (wildcard && /^[0-9.]+$/.test(host)) {
    return "a wildcard cannot apply to an IP address";
  }
  const canonical = wildcard ? host.replace(/\.$/, "") : canonicalHost(host)!;
  const never = wildcard ? undefined : neverAllowedHost(canonical, host);
  if (never) return never;
  return { scheme, host: canonical, port, wildcard };
}
