/**
 * Peak memory of this process around an action, for the host's memory-bound tests. On Linux the
 * kernel keeps the peak resident set (VmHWM) and lets a process reset it (`5` into
 * /proc/self/clear_refs), so the true peak is read, not a sample; elsewhere RSS is sampled.
 */
import { readFileSync, writeFileSync } from "node:fs";

const MB = 1048576;

function hwmMb(): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

function resetHwm(): boolean {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `action` and returns its result with how far this process's resident memory rose above
 * what it was just before (MB).
 */
export async function peakGrowth<T>(action: () => Promise<T>): Promise<{ value: T; growthMb: number }> {
  const before = process.memoryUsage.rss() / MB;
  const exact = resetHwm();
  let sampled = before;
  const timer = exact
    ? undefined
    : setInterval(() => {
        sampled = Math.max(sampled, process.memoryUsage.rss() / MB);
      }, 5);
  try {
    const value = await action();
    const peak = exact ? (hwmMb() ?? before) : Math.max(sampled, process.memoryUsage.rss() / MB);
    return { value, growthMb: peak - before };
  } finally {
    clearInterval(timer);
  }
}

/** Current resident memory of this process (MB). */
export const rssMb = () => process.memoryUsage.rss() / MB;
