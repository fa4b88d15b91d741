import type { ErrorKind } from "./errors.ts";

/**
 * One line of a notebook's timeline, as `GET /api/notebooks/:id/timeline` lists it (docs/api.md):
 * an incident-log entry made readable. Times in ms since the Unix epoch (UTC), durations in ms.
 * A `run.finished` line repeats the plugin and input of its `run.started`; `from`/`to` are the old
 * and new values of a rename or time-range change; `hash` is the entry's SHA-256 (hex).
 */
export type TimelineEntry = {
  seq: number;
  type: string;
  atMs: number;
  /** Display name of who did it. */
  actor: string;
  /** The actor's principal kind and id (entries written before accounts have neither). */
  actorKind?: string;
  actorId?: string;
  /** False for entries written before accounts: the name is whatever the person typed. */
  actorVerified: boolean;
  cellId?: string;
  runId?: string;
  plugin?: string;
  input?: string;
  options?: [string, string][];
  outcome?: "done" | "failed";
  errorKind?: ErrorKind | string;
  errorMessage?: string;
  durationMs?: number;
  contentType?: string;
  action: boolean;
  title?: string;
  from?: unknown;
  to?: unknown;
  /** One readable line for entries other than runs (incidents, alerts, runbooks, notifications). */
  detail?: string;
  hash: string;
};

/** The timeline route's answer: entries in log order and the head hash (64 hex) of the chain. */
export type Timeline = { headHash: string; entries: TimelineEntry[] };
