/** How often a failure that keeps happening is written to the log again (ms). */
export const REPEAT_EVERY_MS = 30_000;

/**
 * Logs a failure that repeats (the outbox polling a database that is down, about once a second)
 * without filling the log: the first failure at once, then at most one line per `everyMs` while it
 * keeps failing (saying how many were left out), and one line when it works again.
 * `nowMs` is a wall or monotonic clock in ms; `log` gets each line.
 */
export function repeatedFailureLog(opts: {
  what: string;
  log: (line: string) => void;
  nowMs?: () => number;
  everyMs?: number;
}): { failed(why: string): void; ok(): void } {
  const now = opts.nowMs ?? (() => performance.now());
  const every = opts.everyMs ?? REPEAT_EVERY_MS;
  let failingSince: number | undefined;
  let loggedAt = 0;
  let unlogged = 0;
  return {
    failed(why) {
      const t = now();
      if (failingSince === undefined) failingSince = t;
      else if (t - loggedAt < every) {
        unlogged++;
        return;
      }
      const more = unlogged ? ` (failed ${unlogged} more times since the last report)` : "";
      opts.log(`${opts.what} failed: ${why}${more}`);
      loggedAt = t;
      unlogged = 0;
    },
    ok() {
      if (failingSince === undefined) return;
      const s = Math.round((now() - failingSince) / 1000);
      opts.log(`${opts.what} works again (it had been failing for ${s} s)`);
      failingSince = undefined;
      unlogged = 0;
    },
  };
}
