/**
 * Outbound HTTP policy: which URLs a plugin may reach, decided *before* any connection.
 *
 * 1. The origin must match an `allowed_hosts` entry (scheme, host — `*.` matches subdomains —
 *    and port).
 * 2. The host resolves the name itself (the injectable {@link Resolver}) and checks every
 *    address: cloud-metadata, link-local, unspecified, multicast, broadcast, reserved and
 *    IPv4-embedding IPv6 ranges (IPv4-mapped `::ffff:0:0/96`, IPv4-translated, IPv4-compatible
 *    `::/96`, NAT64 `64:ff9b::/96` and `64:ff9b:1::/48`, 6to4, Teredo) are always refused, and
 *    an allowed_hosts entry naming one of them is a config error; loopback only when the matching entry names
 *    loopback literally (`127.0.0.1`, `[::1]`, `localhost`); private ranges (RFC 1918, ULA,
 *    carrier-grade NAT) only when the matching entry names the host exactly, without a wildcard.
 * 3. The connection goes to exactly the address that passed (the {@link Connector} receives it),
 *    so a second DNS answer can never redirect it (no DNS rebinding).
 */
import { lookup } from "node:dns/promises";
import { isIP, connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import ipaddr from "ipaddr.js";
import type { HostRule } from "./config.ts";

/** One resolved address. */
export type ResolvedAddress = { address: string; family: 4 | 6 };

/** Resolves a host name to all its addresses. Default: `dns.lookup(name, { all: true })`. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** Where to connect: the checked address, plus what TLS needs (SNI and certificate name). */
export type ConnectTarget = {
  address: string;
  family: 4 | 6;
  port: number;
  tls: boolean;
  /** The host name from the URL (SNI and certificate check), or the IP literal. */
  hostname: string;
};

/** Opens a TCP (or TLS) connection to exactly `target.address`. */
export type Connector = (target: ConnectTarget) => Promise<Socket>;

/** The system resolver: every address of `hostname`, in the order the system returns them. */
export const systemResolver: Resolver = async (hostname) => {
  const list = await lookup(hostname, { all: true, verbatim: true });
  return list.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/** Real TCP, or TLS verified against the URL's host name, to the checked address. */
export const systemConnector: Connector = (t) =>
  new Promise((resolve, reject) => {
    const socket = t.tls
      ? tlsConnect({
          host: t.address,
          port: t.port,
          ...(isIP(t.hostname) ? {} : { servername: t.hostname }),
          ALPNProtocols: ["http/1.1"],
        })
      : netConnect({ host: t.address, port: t.port });
    const fail = (err: Error) => reject(err);
    socket.once("error", fail);
    socket.once(t.tls ? "secureConnect" : "connect", () => {
      socket.off("error", fail);
      resolve(socket);
    });
  });

/** Addresses no plugin may ever reach, whatever allowed_hosts says (cloud metadata services). */
const METADATA = new Set(["169.254.169.254", "169.254.170.2", "100.100.100.200", "168.63.129.16", "fd00:ec2::254"]);

/** Outcome of {@link checkOutbound}: where to connect, or why not (a message for the user). */
export type OutboundDecision =
  | { ok: true; target: ConnectTarget; rule: HostRule }
  | { ok: false; denied: true; message: string }
  | { ok: false; denied: false; message: string };

/** A URL the plugin asked for, split as the host sees it. */
export type OutboundUrl = { scheme: string; host: string; port: number };

/**
 * Parses `host[:port]` (IPv6 in brackets) with the scheme's default port. An IP literal comes
 * back in its one canonical spelling (`0x7f.1` → `127.0.0.1`, `[0:0::1]` → `[::1]`), so every
 * spelling of an address matches, and is checked, as the same address.
 */
export function splitAuthority(scheme: string, authority: string): OutboundUrl | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(authority);
  if (!m) return undefined;
  const port = m[2] === undefined ? (scheme === "https" ? 443 : 80) : Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  const host = canonicalHost(m[1]!);
  if (host === undefined) return undefined;
  return { scheme, host, port };
}

/**
 * One spelling per host: lower case, no trailing dot, and an IP literal in canonical form (IPv4
 * dotted decimal, even when written in the hex, octal or fewer-part forms `inet_aton` accepts;
 * IPv6 in brackets, RFC 5952). Undefined for a bracketed text that is not an IPv6 address.
 */
export function canonicalHost(host: string): string | undefined {
  const h = host.toLowerCase().replace(/\.$/, "");
  if (h.startsWith("[")) {
    const inner = h.slice(1, -1);
    return ipaddr.IPv6.isValid(inner) && !inner.includes("%") ? `[${ipaddr.IPv6.parse(inner).toString()}]` : undefined;
  }
  return ipaddr.IPv4.isValid(h) ? ipaddr.IPv4.parse(h).toString() : h;
}

/** The address of an IP-literal host (as {@link canonicalHost} spells it), or undefined for a name. */
export function ipLiteral(host: string): ResolvedAddress | undefined {
  const h = bare(host);
  if (isIP(h) === 4) return { address: h, family: 4 };
  if (isIP(h) === 6) return { address: h, family: 6 };
  return undefined;
}

function ruleMatches(rule: HostRule, url: OutboundUrl): boolean {
  if (rule.scheme !== url.scheme || rule.port !== url.port) return false;
  if (!rule.wildcard) return rule.host === url.host;
  return url.host.endsWith(`.${rule.host}`);
}

const bare = (host: string) => host.replace(/^\[|\]$/g, "");

function namesLoopback(rule: HostRule): boolean {
  if (rule.wildcard) return false;
  if (rule.host === "localhost") return true;
  const literal = ipLiteral(rule.host);
  return literal !== undefined && classifyAddress(literal.address).cls === "loopback";
}

type AddressClass = "public" | "private" | "loopback" | "never";

/**
 * IPv6 ranges whose addresses carry an IPv4 address inside them, with how to find it. A host
 * that translates or tunnels them (NAT64, a dual-stack socket, a 6to4 relay) would connect to
 * that IPv4 address, which the check never saw as such, so all of them are refused.
 */
const EMBEDDING: { range: string; words: string; prefix: [string, number]; v4At: number }[] = [
  { range: "ipv4Mapped", words: "an IPv4-mapped IPv6 address", prefix: ["::ffff:0:0", 96], v4At: 12 },
  { range: "ipv4Translated", words: "an IPv4-translated IPv6 address", prefix: ["::ffff:0:0:0", 96], v4At: 12 },
  { range: "ipv4Compatible", words: "an IPv4-compatible IPv6 address", prefix: ["::", 96], v4At: 12 },
  { range: "nat64", words: "a NAT64 IPv6 address", prefix: ["64:ff9b::", 96], v4At: 12 },
  { range: "nat64", words: "a NAT64 IPv6 address", prefix: ["64:ff9b:1::", 48], v4At: 12 },
  { range: "6to4", words: "a 6to4 IPv6 address", prefix: ["2002::", 16], v4At: 2 },
  { range: "teredo", words: "a Teredo IPv6 address", prefix: ["2001::", 32], v4At: 12 },
];

/**
 * Classifies an address; `never` covers metadata, link-local, IPv4-embedding IPv6 forms and other
 * unroutable ranges. `embedded` is the IPv4 address inside an IPv4-embedding IPv6 address.
 */
export function classifyAddress(address: string): { cls: AddressClass; range: string; embedded?: string } {
  if (!ipaddr.isValid(address) || address.includes("%")) return { cls: "never", range: "invalid" };
  const ip = ipaddr.parse(address);
  if (METADATA.has(ip.toString())) return { cls: "never", range: "cloud-metadata" };
  if (ip.kind() === "ipv6") {
    const v6 = ip as ipaddr.IPv6;
    const text = v6.toString();
    if (text !== "::" && text !== "::1") {
      for (const e of EMBEDDING) {
        if (!v6.match(ipaddr.IPv6.parse(e.prefix[0]), e.prefix[1])) continue;
        const b = v6.toByteArray().slice(e.v4At, e.v4At + 4);
        // Teredo stores the client address inverted (RFC 4380).
        const v4 = e.range === "teredo" ? b.map((x) => x ^ 0xff) : b;
        return { cls: "never", range: e.range, embedded: v4.join(".") };
      }
    }
  }
  const range = ip.range();
  switch (range) {
    case "unicast":
      return { cls: "public", range };
    case "loopback":
      return { cls: "loopback", range };
    case "private":
    case "uniqueLocal":
    case "carrierGradeNat":
      return { cls: "private", range };
    default:
      // linkLocal, unspecified, multicast, broadcast, reserved, ...
      return { cls: "never", range };
  }
}

const RANGE_WORDS: Record<string, string> = {
  "cloud-metadata": "a cloud metadata address",
  linkLocal: "a link-local address",
  unspecified: "an unspecified address (0.0.0.0 or ::)",
  multicast: "a multicast address",
  broadcast: "a broadcast address",
  reserved: "a reserved address",
  loopback: "a loopback address",
  private: "a private-network address",
  uniqueLocal: "a private-network (unique local) address",
  carrierGradeNat: "a carrier-grade NAT address",
  ...Object.fromEntries(EMBEDDING.map((e) => [e.range, e.words])),
};

/** How an address class reads in a message: "a link-local address", "an IPv4-mapped IPv6 address (it embeds 10.0.0.1)". */
function describeClass(c: { range: string; embedded?: string }): string {
  const words = RANGE_WORDS[c.range] ?? `an address in the ${c.range} range`;
  return c.embedded === undefined ? words : `${words} (it embeds ${c.embedded})`;
}

/**
 * Why an allowed_hosts entry naming this host can never be used, or undefined when it can: an IP
 * literal in a range plugins may never reach (metadata, link-local, IPv4-embedding IPv6, …).
 * @param host as {@link canonicalHost} spells it; `shown` as the user wrote it, for the message.
 */
export function neverAllowedHost(host: string, shown = host): string | undefined {
  const literal = ipLiteral(host);
  if (!literal) return undefined;
  const c = classifyAddress(literal.address);
  if (c.cls !== "never") return undefined;
  const instead = c.embedded === undefined ? "" : `; to reach ${c.embedded}, name it as an IPv4 address`;
  return `${shown} is ${describeClass(c)}, which plugins may never reach, whatever allowed_hosts says${instead}`;
}

/**
 * Decides whether a plugin may send a request to `url`, resolving the name with `resolver`.
 * @param rules the plugin's usable allowed_hosts; `disabled` the `${VAR}` entries that are off
 *   (mentioned in the denial so the operator sees why); `pluginName` for the message.
 * @returns the target to connect to, a denial (`denied: true`) or a resolution failure.
 */
export async function checkOutbound(
  url: OutboundUrl,
  rules: HostRule[],
  disabled: { entry: string; reason: string }[],
  pluginName: string,
  resolver: Resolver,
): Promise<OutboundDecision> {
  const shown = `${url.scheme}://${url.host}${url.port === (url.scheme === "https" ? 443 : 80) ? "" : `:${url.port}`}`;
  if (url.scheme !== "http" && url.scheme !== "https") {
    return { ok: false, denied: true, message: `the plugin tried to reach ${shown}: only http and https are allowed` };
  }
  const matching = rules.filter((r) => ruleMatches(r, url));
  if (matching.length === 0) {
    const off = disabled.length > 0 ? ` (${disabled.map((d) => d.reason).join("; ")})` : "";
    return {
      ok: false,
      denied: true,
      message: `the plugin tried to reach ${shown}, which is not in allowed_hosts; to allow it, add "${shown}" to allowed_hosts in the config.toml of plugin "${pluginName}"${off}`,
    };
  }
  const literal = ipLiteral(url.host);
  let addresses: ResolvedAddress[];
  if (literal) addresses = [literal];
  else {
    try {
      addresses = await resolver(url.host);
    } catch (err) {
      return { ok: false, denied: false, message: `could not resolve ${url.host}: ${(err as Error).message}` };
    }
    if (addresses.length === 0)
      return { ok: false, denied: false, message: `could not resolve ${url.host}: no addresses` };
  }
  let firstRefusal: string | undefined;
  for (const a of addresses) {
    const c = classifyAddress(a.address);
    const { cls } = c;
    const words = describeClass(c);
    const via = literal ? "" : `, which resolved to ${a.address}`;
    let refusal: string | undefined;
    if (cls === "never")
      refusal = `the plugin tried to reach ${shown}${via}, ${words}: plugins may never reach such addresses, whatever allowed_hosts says`;
    else if (cls === "loopback" && !matching.some(namesLoopback)) {
      refusal = `the plugin tried to reach ${shown}${via}, ${words}: loopback is allowed only when an allowed_hosts entry names it literally, such as "${url.scheme}://127.0.0.1:${url.port}"`;
    } else if (cls === "private" && !matching.some((r) => !r.wildcard)) {
      refusal = `the plugin tried to reach ${shown}${via}, ${words}: private addresses are allowed only when an allowed_hosts entry names the host exactly, such as "${shown}", not through a "*." wildcard`;
    }
    if (refusal) {
      firstRefusal ??= refusal;
      continue;
    }
    const rule = matching.find((r) =>
      cls === "loopback" ? namesLoopback(r) : cls === "private" ? !r.wildcard : true,
    )!;
    return {
      ok: true,
      rule,
      target: {
        address: a.address,
        family: a.family,
        port: url.port,
        tls: url.scheme === "https",
        hostname: bare(url.host),
      },
    };
  }
  return { ok: false, denied: true, message: firstRefusal! };
}
