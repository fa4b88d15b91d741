// Runs SQLite WAL checkpoints on its own connection, off the server's event loop: a checkpoint
// fsyncs the database file (milliseconds on a busy disk), and on the main thread that pause would
// land between storing a Yjs update and broadcasting it. workerData: { file, intervalMs }.
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";

const { file, intervalMs } = workerData as { file: string; intervalMs: number };
const db = new Database(file, { fileMustExist: true });
db.pragma("busy_timeout = 1000");
const timer = setInterval(() => {
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } catch (e) {
    parentPort?.postMessage({ error: (e as Error).message });
  }
}, intervalMs);
parentPort?.on("message", (m: unknown) => {
  if (m === "stop") {
    clearInterval(timer);
    db.close();
    parentPort?.close();
  }
});
