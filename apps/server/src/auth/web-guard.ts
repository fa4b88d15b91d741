/**
 * Which Host and Origin headers this server answers (DNS rebinding, cross-site requests and
 * cross-site WebSocket hijacking): the host of `DATABOOK_PUBLIC_URL`, the entries of
 * `DATABOOK_ALLOWED_HOSTS`, and loopback names (`localhost`, `127.0.0.1`, `[::1]`) on any port.
 */

/** The allow-list. Hosts are lowercase `name` (any port) or `name:port`; IPv6 in brackets. */
export type WebOrigins = { publicUrl?: URL; allowedHosts: string[] };

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** True for a loopback host name as URL.hostname writes it: `localhost`, `127.0.0.1`, `[::1]`. */
export const isLoopbackName = (hostname: string): boolean => LOOPBACK.has(hostname.toLowerCase());

/** Splits `host[:port]` (IPv6 in brackets) into a lowercase name and the port text ("" when absent). */
export function splitHost(host: string): { name: string; port: string } {
  const h = host.trim().toLowerCase();
  const m = /^(\[[0-9a-f:.]+\]|[^:]+)(?::(\d+))?$/.exec(h);
  return m ? { name: m[1]!, port: m[2] ?? "" } : { name: h, port: "" };
}

function entryMatches(entry: string, name: string, port: string): boolean {
  const e = splitHost(entry);
  return e.name === name && (e.port === "" || e.port === port);
}

/** True when a request's Host header names this server. */
export function hostAllowed(hostHeader: string | undefined, cfg: WebOrigins): boolean {
  if (!hostHeader) return false;
  const { name, port } = splitHost(hostHeader);
  if (LOOPBACK.has(name)) return true;
  if (cfg.publicUrl) {
    const pub = splitHost(cfg.publicUrl.host);
    const pubPort = pub.port || (cfg.publicUrl.protocol === "https:" ? "443" : "80");
    if (pub.name === name && (port || (cfg.publicUrl.protocol === "https:" ? "443" : "80")) === pubPort) return true;
  }
  return cfg.allowedHosts.some((e) => entryMatches(e, name, port));
}

/** True when an `Origin` header is this server's own (same rules as Host, plus an http/https scheme). */
export function originAllowed(origin: string, cfg: WebOrigins): boolean {
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return false;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return false;
  if (cfg.publicUrl && u.origin === cfg.publicUrl.origin) return true;
  return hostAllowed(u.host, { allowedHosts: cfg.allowedHosts });
}

/**
 * Parses `DATABOOK_ALLOWED_HOSTS` (comma- or space-separated `host` or `host:port`). Throws
 * `{ kind: "bad-input" }` for an entry that is a URL or has a path, saying what to write instead.
 */
export function parseAllowedHosts(value: string | undefined): string[] {
  if (!value?.trim()) return [];
  return value
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((e) => {
      if (e.includes("/") || e.includes("@"))
        throw {
          kind: "bad-input",
          message: `DATABOOK_ALLOWED_HOSTS entry '${e}' is not a host: write a name or name:port such as databook.internal:8080`,
        };
      return e.toLowerCase();
    });
}
