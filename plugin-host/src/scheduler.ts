/**
 * The fair queue of plugin calls: which waiting call a free worker takes next.
 *
 * - **Round robin across queues.** Every call names a queue (a notebook id, or `token:<id>` for a
 *   gRPC caller: the host does not know what they are). The free worker goes to the queue served
 *   longest ago (a queue that just arrived counts as never served), and within a queue to its
 *   oldest call. So a flood in one queue delays another queue's call by at most one call per
 *   queue that is waiting, not by the whole flood.
 * - **Concurrency limits.** At most `perQueue` calls of one queue and `perPrincipal` calls of
 *   one principal (who asked: an opaque key) run at once; a call over a limit waits while calls of
 *   other queues and principals go ahead.
 * - **Priority.** Calls of priority `server` (refresh, autorun) start only when no `person` call
 *   can, and at most `server` of them run at once.
 *
 * No call is ever taken from a worker once started (plugins have side effects). Plain data, no
 * timers: the pool calls {@link Scheduler.take} when a worker is free.
 */

/** Who a call runs for: `person` (someone pressed Run) or `server` (a refresh, an autorun). */
export type Priority = "person" | "server";

/** Caps on calls running at once (see the file comment). */
export type SchedulerLimits = { perQueue: number; perPrincipal: number; server: number };

/** One waiting call. `seq` orders calls by arrival. */
export type Ticket<T> = {
  job: T;
  queue: string;
  principal: string;
  priority: Priority;
  seq: number;
  /** Called with the number of calls expected to start first, whenever it changes. */
  onQueued?: (ahead: number) => void;
  /** The last number given to onQueued. */
  ahead?: number;
};

/** A fair queue; see the file comment. */
export type Scheduler<T> = {
  /** Adds a waiting call. */
  add(t: Omit<Ticket<T>, "seq">): Ticket<T>;
  /** Takes a waiting call out (cancelled); false when it was not waiting. */
  remove(t: Ticket<T>): boolean;
  /** The next call to start, now marked running; undefined when none may start. */
  take(): Ticket<T> | undefined;
  /** A call that {@link take} returned has ended. */
  finish(t: Ticket<T>): void;
  /** Takes every waiting call out (the host is closing). */
  drain(): Ticket<T>[];
  /** Calls waiting and running. */
  size(): { waiting: number; running: number };
};

type QueueState<T> = { lastServed: number; waiting: Ticket<T>[]; running: number };

/** Makes an empty fair queue with these limits. */
export function createScheduler<T>(limits: SchedulerLimits): Scheduler<T> {
  const queues = new Map<string, QueueState<T>>();
  const principalsRunning = new Map<string, number>();
  let serverRunning = 0;
  let waiting = 0;
  let running = 0;
  let seq = 0;
  let served = 0;
  let positionsDue = false;

  const queueOf = (key: string): QueueState<T> => {
    let q = queues.get(key);
    if (!q) {
      q = { lastServed: 0, waiting: [], running: 0 };
      queues.set(key, q);
    }
    return q;
  };
  const dropIfIdle = (key: string, q: QueueState<T>) => {
    // A queue with nothing waiting or running is forgotten; when it comes back it counts as never
    // served, which is what round robin gives a queue that has been idle.
    if (q.waiting.length === 0 && q.running === 0) queues.delete(key);
  };

  /**
   * Expected starts before each waiting call, ignoring the concurrency limits (they depend on
   * when running calls end): people's calls first, then the server's; within each, one call per
   * queue per round, queues in the order they will be served.
   */
  const updatePositions = () => {
    positionsDue = false;
    let ahead = 0;
    for (const priority of ["person", "server"] as const) {
      const lists = [...queues.values()]
        .map((q) => ({ q, items: q.waiting.filter((t) => t.priority === priority) }))
        .filter((x) => x.items.length > 0)
        .sort((a, b) => a.q.lastServed - b.q.lastServed || a.items[0]!.seq - b.items[0]!.seq);
      for (let round = 0; lists.some((l) => l.items.length > round); round++) {
        for (const l of lists) {
          const t = l.items[round];
          if (!t) continue;
          if (t.onQueued && t.ahead !== ahead) {
            t.ahead = ahead;
            t.onQueued(ahead);
          }
          ahead++;
        }
      }
    }
  };
  const positionsChanged = () => {
    if (positionsDue) return;
    positionsDue = true;
    queueMicrotask(updatePositions);
  };

  return {
    add(t) {
      const ticket: Ticket<T> = { ...t, seq: ++seq };
      queueOf(ticket.queue).waiting.push(ticket);
      waiting++;
      positionsChanged();
      return ticket;
    },
    remove(t) {
      const q = queues.get(t.queue);
      const i = q ? q.waiting.indexOf(t) : -1;
      if (!q || i < 0) return false;
      q.waiting.splice(i, 1);
      waiting--;
      dropIfIdle(t.queue, q);
      positionsChanged();
      return true;
    },
    take() {
      for (const priority of ["person", "server"] as const) {
        if (priority === "server" && serverRunning >= limits.server) continue;
        let best: { key: string; q: QueueState<T>; index: number } | undefined;
        for (const [key, q] of queues) {
          if (q.running >= limits.perQueue) continue;
          const index = q.waiting.findIndex(
            (t) => t.priority === priority && (principalsRunning.get(t.principal) ?? 0) < limits.perPrincipal,
          );
          if (index < 0) continue;
          const candidate = q.waiting[index]!;
          if (
            !best ||
            q.lastServed < best.q.lastServed ||
            (q.lastServed === best.q.lastServed && candidate.seq < best.q.waiting[best.index]!.seq)
          ) {
            best = { key, q, index };
          }
        }
        if (!best) continue;
        const [t] = best.q.waiting.splice(best.index, 1);
        const ticket = t!;
        best.q.running++;
        best.q.lastServed = ++served;
        principalsRunning.set(ticket.principal, (principalsRunning.get(ticket.principal) ?? 0) + 1);
        if (ticket.priority === "server") serverRunning++;
        waiting--;
        running++;
        positionsChanged();
        return ticket;
      }
      return undefined;
    },
    finish(t) {
      const q = queues.get(t.queue);
      if (q) {
        q.running--;
        dropIfIdle(t.queue, q);
      }
      const n = (principalsRunning.get(t.principal) ?? 1) - 1;
      if (n <= 0) principalsRunning.delete(t.principal);
      else principalsRunning.set(t.principal, n);
      if (t.priority === "server") serverRunning--;
      running--;
    },
    drain() {
      const all = [...queues.values()].flatMap((q) => q.waiting.splice(0));
      for (const [key, q] of queues) dropIfIdle(key, q);
      waiting = 0;
      return all;
    },
    size: () => ({ waiting, running }),
  };
}
