import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { DISPLAY_KEYS, RESERVED_KEYS } from "@databook/cell-syntax";
import type { PluginHost } from "@databook/plugin-host";
import { PluginService } from "../../gen/databook/v1/plugins_pb.js";
import { publicPluginList } from "../plugin-list.ts";
import { callerOf } from "./auth.ts";
import { toConnectError } from "./errors.ts";

export { CODE_OF_KIND, ERROR_KIND_HEADER, toConnectError } from "./errors.ts";

/**
 * Registers `databook.v1.PluginService` (Get, ListPlugins) on a Connect router, backed by the
 * plugin host — the same invoke path as a cell run. Without a host every Get fails as
 * plugin-broken. Callers are authorized by {@link authInterceptor} (./auth.ts), which must be
 * installed on every transport that serves these routes; the plugin sees the token's principal
 * name as `user`.
 */
export function pluginServiceRoutes(host: PluginHost | undefined) {
  return (router: ConnectRouter) =>
    router.service(PluginService, {
      async get(req, ctx) {
        const caller = callerOf(ctx.values);
        if (req.user)
          throw toConnectError(
            "bad-input",
            "the user field is no longer accepted: identity comes from the API token; leave it empty",
          );
        if (!req.plugin)
          throw toConnectError("bad-input", "plugin is required: the name of a loaded plugin (see ListPlugins)");
        if (req.options.some((o) => !o.key.trim()))
          throw toConnectError("bad-input", 'every option needs a key (option key is empty), as in key="case"');
        const reserved = req.options.find((o) => (RESERVED_KEYS as readonly string[]).includes(o.key));
        if (reserved)
          throw toConnectError(
            "bad-input",
            (DISPLAY_KEYS as readonly string[]).includes(reserved.key)
              ? `option '${reserved.key}' is reserved: it is a chart display key, not a plugin option`
              : `option '${reserved.key}' is reserved; put the time range in time_range instead`,
          );
        let timeRange: { startMs: number; endMs: number; stepMs?: number } | undefined;
        if (req.timeRange) {
          const { startMs, endMs, stepMs } = req.timeRange;
          if (endMs <= startMs)
            throw toConnectError(
              "bad-input",
              "time_range.end_ms must be greater than time_range.start_ms (ms since epoch)",
            );
          if (stepMs !== undefined && stepMs <= 0n)
            throw toConnectError("bad-input", "time_range.step_ms must be positive");
          timeRange = {
            startMs: Number(startMs),
            endMs: Number(endMs),
            ...(stepMs !== undefined ? { stepMs: Number(stepMs) } : {}),
          };
        }
        if (!host)
          throw toConnectError("plugin-broken", "this server was started without a plugins directory (--plugins DIR)");
        const res = await host.invoke(req.plugin, {
          input: req.input,
          options: req.options.map((o) => [o.key, o.value]),
          user: caller.principal.name,
          ...(timeRange ? { timeRange } : {}),
        });
        if (!res.ok) throw toConnectError(res.error.kind, res.error.message);
        return {
          contentType: res.output.contentType,
          body: res.output.body,
          warnings: res.output.warnings,
          requestId: res.requestId,
          durationMs: BigInt(Math.round(res.durationMs)),
        };
      },
      async listPlugins() {
        // ListPluginsResponse has no field for folders still loading: they are listed as broken,
        // with a reason saying they are loading, rather than left out.
        const { plugins, broken, loading } = publicPluginList(host);
        return {
          plugins,
          broken: [
            ...broken,
            ...loading.map((l) => ({
              ...l,
              reason: "still loading: the server is starting it; list again in a moment",
            })),
          ],
        };
      },
    });
}
