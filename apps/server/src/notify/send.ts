import {
  type Connector,
  type HostRule,
  type Resolver,
  sendOutbound,
  systemConnector,
  systemResolver,
} from "@databook/plugin-host";

/** How the outbox reaches the network; tests inject a resolver and connector that stay on loopback. */
export type NetDeps = { resolver?: Resolver; connector?: Connector };

/** How one attempt ended: the receiver's status, or why there was none. */
export type Attempt = { ok: true; status: number } | { ok: false; status?: number; error: string };

/**
 * POSTs `body` to `url` under the plugin host's outbound rules (docs/plugin-host.md, "Outbound
 * HTTP"), with `rule` — the channel URL's own origin, named exactly — as the only allowed host:
 * cloud-metadata, link-local and other never-reachable addresses are refused whatever the name
 * resolves to, a private address only because the operator named that host, loopback only when
 * named literally; the connection goes to exactly the address that was checked (no DNS
 * rebinding). A 2xx answer is a delivery; anything else, or no answer, is a failed attempt.
 * Never throws.
 */
export async function postChecked(
  url: URL,
  rule: HostRule,
  headers: [string, string][],
  body: string,
  opts: NetDeps & { timeoutMs: number; channel: string },
): Promise<Attempt> {
  const signal = AbortSignal.timeout(opts.timeoutMs);
  try {
    const { answer, denial, failure } = await sendOutbound(
      {
        method: "POST",
        scheme: url.protocol.replace(/:$/, ""),
        authority: url.host,
        pathWithQuery: `${url.pathname}${url.search}`,
        headers,
        body: [Buffer.from(body, "utf8")],
      },
      {
        pluginName: `notification channel ${opts.channel}`,
        rules: [rule],
        disabled: [],
        resolver: opts.resolver ?? systemResolver,
        connector: opts.connector ?? systemConnector,
        signal,
      },
    );
    if (denial) return { ok: false, error: reword(denial) };
    if (!answer.ok)
      return { ok: false, error: failure ? `the server ${failure}` : `the request failed (${answer.error.tag})` };
    if (answer.status >= 200 && answer.status < 300) return { ok: true, status: answer.status };
    return { ok: false, status: answer.status, error: `the receiver answered HTTP ${answer.status}` };
  } catch (e) {
    return {
      ok: false,
      error: signal.aborted ? `no answer within ${opts.timeoutMs} ms` : String((e as Error).message ?? e),
    };
  }
}

/** The plugin host words its refusals for plugins; a channel's are the operator's to fix. */
function reword(denial: string): string {
  return denial
    .replace(/^the plugin tried to reach/, "the channel's URL")
    .replace(
      /plugins may never reach such addresses, whatever allowed_hosts says/,
      "nothing Databook sends may reach such addresses",
    );
}
