import {
  type NotebookState,
  type Principal,
  REFRESH_INTERVALS_MS,
  type RefreshState,
  type RefreshStopReason,
  SYSTEM_PRINCIPAL,
} from "@databook/wire";
import type { Lease } from "../cluster/lease.ts";
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
 * What the refresher needs from the cluster (cluster mode; cluster/refresh-cluster.ts) so a
 * notebook's auto-refresh runs on one node: the holder of the lease `refresh:<notebook>`.
 */
export type RefreshCluster = {
  /** One attempt at the notebook's refresh lease; `onLost` once it is lost. Rejects when Redis cannot be asked. */
  hold(notebookId: string, onLost: () => void): Promise<Lease | undefined>;
  /** Whether some node holds it now. */
  held(notebookId: string): Promise<boolean>;
  /** Asks the node holding it to let go (a person turned refresh on or off through this node). */
  askHandover(notebookId: string): void;
  /** Notes that this node had a page open on the notebook at `atMs`. */
  sawPages(notebookId: string, atMs: number): Promise<void>;
  /** When any node last noted a page open on it (ms), if one did within the idle time. */
  pagesSeenAt(notebookId: string): Promise<number | undefined>;
};

/**
 * Auto-refresh (docs/api.md, "Run all and auto-refresh"): the server runs every query cell of a
 * notebook once per interval for all its followers, through the run service with trigger `refresh`
 * as the editor who turned it on — never once per open page, and never an action cell. Every run is
 * recorded forever, so it stops by itself: after `idleMs` with no page open, when the incident is
 * resolved or the notebook archived, when the editor who turned it on may no longer run cells, and
 * `maxMs` after it started. Each start and stop is a log
 * entry (`refresh.started`, `refresh.stopped`); the state is published on the record channel.
 * State lives in this process only: a restart leaves every notebook's refresh off.
 *
 * In cluster mode (`d.cluster`) the node holding the notebook's refresh lease runs it, whichever
 * node it was turned on through: turning it on or off through another node asks the holder to
 * hand the lease over first. Every node knows the state (the record channel shares it), notes
 * its open pages in Redis so the holder's idle check counts every node's pages, and takes the
 * lease over when no node has held it for a while (its holder died), carrying on the same refresh.
 */
export function createRefresher(d: {
  docs: Pick<DocManager, "acquire" | "release" | "open">;
  runs: Pick<RunService, "start">;
  record: Pick<RecordChannel, "refresh" | "setRefresh" | "incident" | "refreshing">;
  stateOf: (notebookId: string) => Promise<NotebookState>;
  /** Whether `by` may still run cells of the notebook (editor or more, account or token live). */
  mayRun: (notebookId: string, by: Principal) => Promise<boolean>;
  appendLog: (e: NewLogEntry) => Promise<LogEntry>;
  nowMs: () => number;
  settings?: Partial<RefreshSettings>;
  warn?: (m: string) => void;
  cluster?: RefreshCluster;
}) {
  const s = { ...DEFAULT_REFRESH_SETTINGS, ...d.settings };
  /** notebookId → when a page was last seen open on it (ms): the notebooks this node runs the refresh of. */
  const lastPage = new Map<string, number>();
  /** Stops being logged now, by notebook (a second stop waits for the first's entry). */
  const stopping = new Map<string, Promise<void>>();
  /** Cluster mode: the refresh leases this node holds. */
  const leases = new Map<string, Lease>();
  /** Cluster mode: notebooks with refresh on and no holder, since when (ms). */
  const orphaned = new Map<string, number>();
  /** Cluster mode: when this node last noted open pages of a notebook (ms), to write it seldom. */
  const noted = new Map<string, number>();
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

  /** Stops running a notebook's refresh here, without logging or publishing (and releases its lease). */
  function letGo(notebookId: string): void {
    lastPage.delete(notebookId);
    const l = leases.get(notebookId);
    leases.delete(notebookId);
    if (l) void l.release().catch(() => false);
  }

  /** Cluster mode: one attempt at the notebook's refresh lease; losing it later lets the refresh go here. */
  async function holdLease(notebookId: string): Promise<Lease | undefined> {
    const l = await d.cluster!.hold(notebookId, () => {
      if (leases.get(notebookId) === l) letGo(notebookId);
    });
    return l;
  }

  /** Cluster mode: takes the notebook's refresh lease, asking its holder to hand it over (≈ 2 s); else a 503 refusal. */
  async function takeLease(notebookId: string): Promise<void> {
    const c = d.cluster!;
    if (leases.get(notebookId)?.held()) return;
    for (let i = 0; i < 20; i++) {
      const l = await holdLease(notebookId);
      if (l) {
        leases.set(notebookId, l);
        return;
      }
      if (i === 0 || i === 10) c.askHandover(notebookId);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw {
      status: 503,
      kind: "upstream",
      message:
        "another Databook node runs this notebook's auto-refresh and did not hand it over within 2 s; try again in a moment",
    };
  }

  /** Stops a notebook's refresh now; resolves once the stop is logged (false when it was not on). */
  async function stop(
    notebookId: string,
    reason: RefreshStopReason,
    actor: Principal = SYSTEM_PRINCIPAL,
    keepRunning = false,
  ): Promise<boolean> {
    const cur = d.record.refresh(notebookId);
    if (!cur) {
      // a check may be stopping it right now: the caller must not answer before that is logged
      await stopping.get(notebookId);
      return false;
    }
    if (!keepRunning) letGo(notebookId);
    d.record.setRefresh(notebookId, undefined, reason);
    const logged = log({
      notebookId,
      type: "refresh.stopped",
      atMs: d.nowMs(),
      actor,
      data: { reason, intervalMs: cur.intervalMs, rounds: cur.rounds, startedAtMs: cur.startedAtMs },
    });
    stopping.set(notebookId, logged);
    await logged;
    if (stopping.get(notebookId) === logged) stopping.delete(notebookId);
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
    else {
      const elsewhere = d.cluster ? await d.cluster.pagesSeenAt(notebookId) : undefined;
      const last = Math.max(lastPage.get(notebookId) ?? cur.startedAtMs, elsewhere ?? 0);
      if (t - last >= s.idleMs) return "idle";
    }
    return undefined;
  }

  function startChecking(): void {
    if (timer) return;
    timer = setInterval(() => void check(), s.checkMs);
    timer.unref();
  }

  /** Looks at every notebook with refresh on: stops the ones that must stop, starts due rounds. */
  function check(): Promise<void> {
    checking = checking.then(checkNow);
    return checking;
  }

  /**
   * Cluster mode, on every check: notes this node's open pages of refreshed notebooks, and takes
   * over a refresh no node has held for two checks and at least a second (its node died).
   */
  async function clusterDuties(t: number): Promise<void> {
    const c = d.cluster!;
    for (const notebookId of d.record.refreshing()) {
      try {
        if (pages(notebookId) > 0 && t - (noted.get(notebookId) ?? -Infinity) >= Math.min(5000, s.idleMs / 10)) {
          noted.set(notebookId, t);
          await c.sawPages(notebookId, t);
        }
        if (lastPage.has(notebookId)) continue;
        if (await c.held(notebookId)) {
          orphaned.delete(notebookId);
          continue;
        }
        // real time, not the refresh clock: this is about leases, which live in real time
        const since = orphaned.get(notebookId);
        if (since === undefined) {
          orphaned.set(notebookId, Date.now());
          continue;
        }
        if (Date.now() - since < Math.max(1000, 2 * s.checkMs)) continue;
        orphaned.delete(notebookId);
        const l = await holdLease(notebookId);
        if (!l) continue;
        if (!d.record.refresh(notebookId)) {
          await l.release();
          continue;
        }
        leases.set(notebookId, l);
        lastPage.set(notebookId, t);
        d.warn?.(`auto-refresh of ${notebookId} taken over: the node running it stopped`);
      } catch (e) {
        d.warn?.(`auto-refresh of ${notebookId}: the cluster could not be asked: ${(e as Error).message ?? String(e)}`);
      }
    }
    for (const id of noted.keys()) if (!d.record.refresh(id)) noted.delete(id);
  }

  async function checkNow(): Promise<void> {
    const t = d.nowMs();
    if (d.cluster) await clusterDuties(t);
    for (const notebookId of [...lastPage.keys()]) {
      const cur = d.record.refresh(notebookId);
      // stopped or restarted through another node: that node runs it now
      if (!cur || (d.cluster && !leases.get(notebookId)?.held())) {
        letGo(notebookId);
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
      if (d.cluster) await takeLease(notebookId);
      if (intervalMs === 0) {
        await stop(notebookId, "turned-off", actor);
        return undefined;
      }
      // restarted: the old refresh ends (logged), this node goes on running the new one
      if (d.record.refresh(notebookId)) await stop(notebookId, "turned-off", actor, true);
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
      startChecking();
      await check();
      return d.record.refresh(notebookId);
    },
    /** Cluster mode: another node asks for the notebook's refresh lease (a person set refresh there). */
    handover(notebookId: string): void {
      if (leases.has(notebookId)) letGo(notebookId);
    },
    /** Cluster mode: a refresh this node learned of from another node (it checks it from now on, to take it over if its node dies). */
    learned(): void {
      startChecking();
    },
    /** Stops a notebook's refresh (archived, resolved: called right away rather than at the next check). */
    stop,
    /**
     * At shutdown: stops every refresh this node runs, each logged; resolves once all are. In
     * cluster mode it hands them over instead (releases the leases, logs nothing): another node
     * that has the notebook open takes each over, and one that opens it later reads it from the log.
     */
    async stopAll(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = undefined;
      await checking;
      if (d.cluster) for (const id of [...lastPage.keys()]) letGo(id);
      else await Promise.all([...lastPage.keys()].map((id) => stop(id, "shutdown")));
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
