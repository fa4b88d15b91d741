import type { Database } from "better-sqlite3";

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
