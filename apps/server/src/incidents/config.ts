import { VISIBILITIES, type Visibility } from "@databook/wire";
import { duration } from "../auth/config.ts";

/** How incidents are opened (docs/incidents.md, "Settings"). */
export type IncidentSettings = {
  /** How far before the earliest alert's `startsAt` an incident's `since` range begins (ms). */
  lookbackMs: number;
  /** Visibility of an incident whose runbook sets none (or that has no runbook). */
  defaultVisibility: Visibility;
  /** The runbook used when no runbook's matchers match an alert group; unset: a blank incident. */
  defaultRunbookId?: string;
};

export const DEFAULT_INCIDENT_SETTINGS: IncidentSettings = { lookbackMs: 15 * 60_000, defaultVisibility: "signed-in" };

/**
 * Reads `DATABOOK_INCIDENT_LOOKBACK` (a duration, default `15m`), `DATABOOK_INCIDENT_VISIBILITY`
 * (`signed-in` or `restricted`) and `DATABOOK_DEFAULT_RUNBOOK` (a notebook id). Throws
 * `{ kind: "bad-input" }` naming the variable.
 */
export function incidentSettingsFromEnv(env: Record<string, string | undefined>): IncidentSettings {
  const v = env.DATABOOK_INCIDENT_VISIBILITY;
  if (v && !(VISIBILITIES as readonly string[]).includes(v))
    throw { kind: "bad-input", message: `DATABOOK_INCIDENT_VISIBILITY must be one of ${VISIBILITIES.join(", ")}` };
  const rb = env.DATABOOK_DEFAULT_RUNBOOK?.trim();
  return {
    lookbackMs: duration(env, "DATABOOK_INCIDENT_LOOKBACK", DEFAULT_INCIDENT_SETTINGS.lookbackMs),
    defaultVisibility: (v as Visibility | undefined) ?? DEFAULT_INCIDENT_SETTINGS.defaultVisibility,
    ...(rb ? { defaultRunbookId: rb } : {}),
  };
}
