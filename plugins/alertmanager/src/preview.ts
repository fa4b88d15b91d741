import {
  type ActionPreview,
  type Call,
  type Context,
  formatDuration,
  isKindedError,
  PluginError,
} from "@databook/plugin-sdk";
import { formatMatcher } from "./matchers.ts";
import { type Alert, alertsMatching, apiOf, getSilence, intentOf, planSilence, silenceIdOf } from "./run.ts";

/** Alerts named in a silence preview at most; the rest are counted. */
const ALERTS_SHOWN = 5;

/**
 * What a cell would do, for the confirmation before it runs (the `action-preview` capability):
 * for `@action=silence` the matchers, duration, end time, comment and author it would send, and
 * the alerts it would silence now; for `@action=expire` the silence it would end, read from
 * Alertmanager. Only reads (GET); the values come from the same planning as the run.
 * @throws PluginError: bad-input for what the run would refuse too (no matchers, no comment, a bad
 *   id, an unknown silence), upstream when Alertmanager cannot say which silence an id is.
 */
export async function previewAlertmanager(call: Call, ctx: Context): Promise<ActionPreview> {
  const { action, type } = intentOf(call);
  if (action === "silence") return previewSilence(call, ctx);
  if (action === "expire") return previewExpire(call, ctx);
  return {
    summary: `Lists ${type ?? "alerts"}; changes nothing in Alertmanager`,
    details: [],
    warnings: [],
  };
}

async function previewSilence(call: Call, ctx: Context): Promise<ActionPreview> {
  const now = ctx.nowMs();
  const plan = planSilence(call, now);
  const matchers = plan.matchers.map(formatMatcher).join(", ");
  const duration = formatDuration(plan.durationMs);
  const warnings: string[] = [];
  const details: [string, string][] = [
    ["matchers", matchers],
    ["duration", duration],
    ["starts", "when it runs"],
    ["ends", `${duration} after it runs (${plan.endsAt} if it ran now)`],
    ["comment", plan.comment],
    ["author", plan.createdBy],
  ];
  try {
    const firing = await alertsMatching(apiOf(ctx), plan.matchers, false);
    details.push(["alerts it silences now", describeAlerts(firing)]);
    if (firing.length === 0)
      warnings.push(
        "no alert that is firing and not yet silenced matches these matchers: check them before you run it",
      );
  } catch (err) {
    // The preview still says what would be sent; it cannot say what it would hide.
    if (!isKindedError(err) || err.kind === "bad-input") throw err;
    warnings.push(`could not ask Alertmanager which alerts these matchers select: ${err.message}`);
  }
  return { summary: `Creates a silence of ${duration} for ${matchers}`, details, warnings };
}

async function previewExpire(call: Call, ctx: Context): Promise<ActionPreview> {
  const id = silenceIdOf(call);
  const s = await getSilence(apiOf(ctx), id);
  if (typeof s?.id !== "string" || !Array.isArray(s.matchers))
    throw new PluginError("upstream", `Alertmanager's answer for silence ${id} has an unexpected shape`);
  const matchers = s.matchers.map(formatMatcher).join(", ");
  const state = s.status?.state ?? "unknown";
  const warnings =
    state === "expired" ? [`silence ${id} has already expired (at ${s.endsAt}): expiring it changes nothing`] : [];
  return {
    summary: `Expires silence ${id} (${matchers}) now instead of at ${s.endsAt}`,
    details: [
      ["silence", id],
      ["matchers", matchers],
      ["state", state],
      ["ends", `now (it would have ended at ${s.endsAt})`],
      ["comment", s.comment],
      ["created by", s.createdBy],
      [
        "expired by",
        `${call.user || "databook"} (recorded in Databook's incident log; Alertmanager does not record it)`,
      ],
    ],
    warnings,
  };
}

/** "2: HighLatency (api-gateway), ErrorRate (payments)", at most {@link ALERTS_SHOWN} named. */
function describeAlerts(alerts: Alert[]): string {
  if (alerts.length === 0) return "none";
  const named = alerts.slice(0, ALERTS_SHOWN).map((a) => {
    const { alertname = "(no alertname)", service, instance } = a.labels ?? {};
    const where = service ?? instance;
    return where ? `${alertname} (${where})` : alertname;
  });
  const more = alerts.length > ALERTS_SHOWN ? `, and ${alerts.length - ALERTS_SHOWN} more` : "";
  return `${alerts.length}: ${named.join(", ")}${more}`;
}
