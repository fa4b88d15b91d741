/**
 * Outbound HTTP policy: which URLs a plugin may reach, decided *before* any connection.
 *
 * 1. The origin must match an `allowed_hosts` entry (scheme, host — `*.` matches subdomains —
 *    and port).
 * 2. The host resolves the name itself (the injectable {@link Resolver}) and checks every
 *    address: cloud-metadata, link-local, unspecified, multicast, broadcast, reserved and
 *    IPv4-embedding IPv6 ranges are always refused; loopback only when the matching entry names
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

/** Parses `host[:port]` (IPv6 in brackets) with the scheme's default port. */
export function splitAuthority(scheme: string, authority: string): OutboundUrl | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(authority);
  if (!m) return undefined;
  const port = m[2] === undefined ? (scheme === "https" ? 443 : 80) : Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { scheme, host: m[1]!.toLowerCase().replace(/\.$/, ""), port };
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
  const h = bare(rule.host);
  return ipaddr.isValid(h) && ipaddr.process(h).range() === "loopback";
}

type AddressClass = "public" | "private" | "loopback" | "never";

/** Classifies an address; `never` covers metadata, link-local and other unroutable ranges. */
export function classifyAddress(address: string): { cls: AddressClass; range: string } {
  if (!ipaddr.isValid(address)) return { cls: "never", range: "invalid" };
  const ip = ipaddr.process(address); // IPv4-mapped IPv6 becomes IPv4
  const text = ip.toString();
  if (METADATA.has(text)) return { cls: "never", range: "cloud-metadata" };
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
      // linkLocal, unspecified, multicast, broadcast, reserved, 6to4, teredo, rfc6052, ...
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
};

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
  const literal = bare(url.host);
  let addresses: ResolvedAddress[];
  if (isIP(literal)) addresses = [{ address: literal, family: isIP(literal) === 6 ? 6 : 4 }];
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
    const { cls, range } = classifyAddress(a.address);
    const words = RANGE_WORDS[range] ?? `an address in the ${range} range`;
    const via = isIP(literal) ? "" : `, which resolved to ${a.address}`;
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
      target: { address: a.address, family: a.family, port: url.port, tls: url.scheme === "https", hostname: literal },
    };
  }
  return { ok: false, denied: true, message: firstRefusal! };
}
