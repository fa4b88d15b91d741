import type { Database } from "better-sqlite3";
import { CHANGES_CHANNEL, type ChangeKind, changedKinds } from "./change-notices.ts";
import type { Sql } from "./sql.ts";

/**
 * Notices writes to the database by another process (the `databook users …` and `tokens …`
 * commands write SQLite directly): SQLite's `PRAGMA data_version` changes when another connection
 * commits. Polls every `intervalMs` (default 200) and calls `onChange`; `stop()` ends it.
 */
export function watchForeignWrites(db: Database, onChange: () => void, intervalMs = 200): { stop: () => void } {
  let last = db.pragma("data_version", { simple: true }) as number;
  const timer = setInterval(() => {
    if (!db.open) return;
    const v = db.pragma("data_version", { simple: true }) as number;
    if (v === last) return;
    last = v;
    onChange();
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * What another process changed in the server's database reaches `onChange` with what changed
 * (docs/operations.md, "The command line on PostgreSQL"):
 * - SQLite (`db`): {@link watchForeignWrites} every `pollMs`; it cannot tell what changed, so
 *   every kind;
 * - PostgreSQL (`sql.listen`): a LISTEN on {@link CHANGES_CHANNEL}, the kinds each notice names;
 *   when the listening connection comes back after a loss, every kind once (notices sent
 *   meanwhile were missed).
 * `ready` resolves once the first attempt to listen was made; `stop()` ends watching.
 */
export function watchOtherWriters(opts: {
  db?: Database;
  sql: Sql;
  onChange: (kinds: ChangeKind[]) => void;
  pollMs?: number;
  warn: (m: string) => void;
}): { ready: Promise<void>; stop: () => Promise<void> } {
  const all: ChangeKind[] = ["access", "log"];
  if (opts.db) {
    const w = watchForeignWrites(opts.db, () => opts.onChange(all), opts.pollMs);
    return { ready: Promise.resolve(), stop: async () => w.stop() };
  }
  if (!opts.sql.listen) return { ready: Promise.resolve(), stop: async () => {} };
  const l = opts.sql.listen(CHANGES_CHANNEL, {
    onNotice: (payload) => opts.onChange(changedKinds(payload)),
    onReconnect: () => opts.onChange(all),
    warn: opts.warn,
  });
  return { ready: l.ready, stop: l.stop };
}
