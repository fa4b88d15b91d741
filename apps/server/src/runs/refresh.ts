import {
  type NotebookState,
  type Principal,
  REFRESH_INTERVALS_MS,
  type RefreshState,
  type RefreshStopReason,
  SYSTEM_PRINCIPAL,
} from "@databook/wire";
import type { DocManager } from "../collab/docs.ts";
import type { LogEntry, NewLogEntry } from "../log/store.ts";
import type { RecordChannel } from "../record/channel.ts";
import { runRound } from "./round.ts";
import type { RunService } from "./run.ts";

/** Timings of auto-refresh, ms (tests make them short). */
export type RefreshSettings = {
  /** Stop after this long with no page open on the notebook (default 10 minutes). */
  idleMs: number;
  /** Stop this long after it was turned on, whatever happens (default 12 hours). */
  maxMs: number;
  /** How often the refresher looks at its notebooks (default 1 s). */
  checkMs: number;
};

export const DEFAULT_REFRESH_SETTINGS: RefreshSettings = {
  idleMs: 10 * 60_000,
  maxMs: 12 * 60 * 60_000,
  checkMs: 1000,
};

/** A refresh interval from a request body: 0 (off) or one of {@link REFRESH_INTERVALS_MS}; else a `bad-input` error. */
export function parseRefreshInterval(x: unknown): number {
  if (x === 0 || (REFRESH_INTERVALS_MS as readonly unknown[]).includes(x)) return x as number;
  throw {
    kind: "bad-input",
    message: `intervalMs must be 0 (off) or one of ${REFRESH_INTERVALS_MS.join(", ")} (30 s, 1 m, 5 m); got ${JSON.stringify(x)}`,
  };
}

/**
 * Auto-refresh (docs/api.md, "Run all and auto-refresh"): the server runs every query cell of a
 * notebook once per interval for all its followers, through the run service with trigger `refresh`
 * as the editor who turned it on — never once per open page, and never an action cell. Every run is
 * recorded forever, so it stops by itself: after `idleMs` with no page open, when the incident is
 * resolved or the notebook archived, when the editor who turned it on may no longer run cells, and
 * `maxMs` after it started. Each start and stop is a log
 * entry (`refresh.started`, `refresh.stopped`); the state is published on the record channel.
 * State lives in this process only: a restart leaves every notebook's refresh off.
 */
export function createRefresher(d: {
  docs: Pick<DocManager, "acquire" | "release" | "open">;
  runs: Pick<RunService, "start">;
  record: Pick<RecordChannel, "refresh" | "setRefresh" | "incident">;
  stateOf: (notebookId: string) => Promise<NotebookState>;
  /** Whether `by` may still run cells of the notebook (editor or more, account or token live). */
  mayRun: (notebookId: string, by: Principal) => Promise<boolean>;
  appendLog: (e: NewLogEntry) => Promise<LogEntry>;
  nowMs: () => number;
  settings?: Partial<RefreshSettings>;
  warn?: (m: string) => void;
}) {
  const s = { ...DEFAULT_REFRESH_SETTINGS, ...d.settings };
  /** notebookId → when a page was last seen open on it (ms). */
  const lastPage = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  /** The check running now: checks run one after another (each reads access afresh). */
  let checking: Promise<void> = Promise.resolve();

  /** Logs a start or stop; a failure is reported (the refresh's state has changed either way). */
  const log = (e: NewLogEntry) =>
    d.appendLog(e).then(
      () => undefined,
      (err) => d.warn?.(`${e.type} of ${e.notebookId} not logged: ${(err as Error).message ?? String(err)}`),
    );
  const pages = (notebookId: string) => d.docs.open.get(notebookId)?.peers.size ?? 0;

  /** Stops a notebook's refresh now; resolves once the stop is logged (false when it was not on). */
  async function stop(
    notebookId: string,
    reason: RefreshStopReason,
    actor: Principal = SYSTEM_PRINCIPAL,
  ): Promise<boolean> {
    const cur = d.record.refresh(notebookId);
    if (!cur) return false;
    lastPage.delete(notebookId);
    d.record.setRefresh(notebookId, undefined, reason);
    if (lastPage.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
    await log({
      notebookId,
      type: "refresh.stopped",
      atMs: d.nowMs(),
      actor,
      data: { reason, intervalMs: cur.intervalMs, rounds: cur.rounds, startedAtMs: cur.startedAtMs },
    });
    return true;
  }

  async function round(notebookId: string, cur: RefreshState): Promise<void> {
    const by = { kind: cur.by.kind, id: cur.by.id, name: cur.by.name } as Principal;
    const r = await runRound(d, notebookId, by, "refresh");
    // a stop may have come in while the round was started (archiving cancels its queued runs)
    if (!d.record.refresh(notebookId)) return;
    d.record.setRefresh(notebookId, { ...cur, lastRoundAtMs: r.atMs, rounds: cur.rounds + 1 });
  }

  /** Why a notebook's refresh must stop now, if it must. */
  async function stopReason(notebookId: string, cur: RefreshState, t: number): Promise<RefreshStopReason | undefined> {
    if ((await d.stateOf(notebookId)).archived) return "archived";
    if ((await d.record.incident(notebookId))?.status === "resolved") return "resolved";
    if (t >= cur.untilMs) return "max-duration";
    // a refresh runs as the editor who turned it on: not once they may no longer run cells
    if (!(await d.mayRun(notebookId, cur.by as Principal))) return "access-removed";
    if (pages(notebookId) > 0) lastPage.set(notebookId, t);
    else if (t - (lastPage.get(notebookId) ?? cur.startedAtMs) >= s.idleMs) return "idle";
    return undefined;
  }

  /** Looks at every notebook with refresh on: stops the ones that must stop, starts due rounds. */
  function check(): Promise<void> {
    checking = checking.then(checkNow);
    return checking;
  }

  async function checkNow(): Promise<void> {
    const t = d.nowMs();
    for (const notebookId of [...lastPage.keys()]) {
      const cur = d.record.refresh(notebookId);
      if (!cur) {
        lastPage.delete(notebookId);
        continue;
      }
      try {
        const why = await stopReason(notebookId, cur, t);
        // turned off or restarted while access was read: this check no longer speaks for it
        if (d.record.refresh(notebookId) !== cur) continue;
        if (why) await stop(notebookId, why);
        else if (t - (cur.lastRoundAtMs ?? -Infinity) >= cur.intervalMs) await round(notebookId, cur);
      } catch (e) {
        d.warn?.(`auto-refresh of ${notebookId} stopped: ${(e as { message?: string }).message ?? String(e)}`);
        await stop(notebookId, "failed");
      }
    }
  }

  return {
    settings: s,
    /**
     * Turns a notebook's auto-refresh on at `intervalMs` (one of {@link REFRESH_INTERVALS_MS}; the
     * first round starts now) or off (0), as `actor`; changing the interval restarts it. The caller
     * has checked that `actor` is an editor and the notebook is not archived. Returns the state.
     */
    async set(notebookId: string, intervalMs: number, actor: Principal): Promise<RefreshState | undefined> {
      if (intervalMs === 0) {
        await stop(notebookId, "turned-off", actor);
        return undefined;
      }
      if (d.record.refresh(notebookId)) await stop(notebookId, "turned-off", actor);
      const t = d.nowMs();
      const state: RefreshState = {
        intervalMs,
        by: { kind: actor.kind, id: actor.id, name: actor.name },
        startedAtMs: t,
        untilMs: t + s.maxMs,
        rounds: 0,
      };
      d.record.setRefresh(notebookId, state);
      lastPage.set(notebookId, t);
      await log({
        notebookId,
        type: "refresh.started",
        atMs: t,
        actor,
        data: { intervalMs, untilMs: state.untilMs },
      });
      timer ??= setInterval(() => void check(), s.checkMs);
      timer.unref();
      await check();
      return d.record.refresh(notebookId);
    },
    /** Stops a notebook's refresh (archived, resolved: called right away rather than at the next check). */
    stop,
    /** Stops every refresh (at shutdown), each logged; resolves once all are. */
    async stopAll(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = undefined;
      await Promise.all([...lastPage.keys()].map((id) => stop(id, "shutdown")));
    },
  };
}

export type Refresher = ReturnType<typeof createRefresher>;

/**
 * Auto-refresh timings from the environment: `DATABOOK_REFRESH_IDLE_MS` (stop after this long with
 * no page open; default 10 minutes) — end-to-end tests make it short. Throws a `bad-input` error
 * for a value that is not a positive whole number of ms.
 */
export function refreshSettingsFromEnv(env: Record<string, string | undefined>): Partial<RefreshSettings> {
  const v = env.DATABOOK_REFRESH_IDLE_MS?.trim();
  if (!v) return {};
  if (!/^\d+$/.test(v) || Number(v) <= 0)
    throw {
      kind: "bad-input",
      message: `DATABOOK_REFRESH_IDLE_MS must be a positive whole number of milliseconds, e.g. 600000; got ${JSON.stringify(v)}`,
    };
  return { idleMs: Number(v) };
}
