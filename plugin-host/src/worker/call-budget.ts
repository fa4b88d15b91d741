/**
 * What one call may hand the host, counted in the worker *before* anything is copied:
 *
 * - stdout, stderr and `runtime.log` text: {@link MAX_LOG_BYTES} per call (each message to the
 *   host also costs {@link MESSAGE_OVERHEAD}, so a flood of tiny writes is bounded too), then one
 *   "dropped further output" line. Writes to the same stream within the same millisecond travel
 *   as one message (their lines keep their time: the host stamps lines per millisecond);
 * - outbound request bodies: `limits.max_request_bytes` per request;
 * - header fields: {@link MAX_HEADER_BYTES} per call;
 * - and everything the host holds for the call at once (unsent bodies, header fields, response
 *   bytes not read yet) plus the call's linear memory stays within its memory cap
 *   (`limits.memory_mb`): {@link CallBudget.room}.
 *
 * A request over a limit is refused (the plugin's write fails) and the call's verdict is recorded
 * with the host: `denied` for max_request_bytes and the header budget, `memory-limit` for memory.
 * Env-var refusals and socket refusals are reported once per name, at most {@link MAX_NOTICES}.
 */
import type { FromWorker } from "../protocol.ts";

/** Captured stdout/stderr/log text per call (bytes). */
export const MAX_LOG_BYTES = 256 * 1024;
/** Header field bytes (names and values) a call may set, over all its requests. */
export const MAX_HEADER_BYTES = 1024 * 1024;
/** Longest message text (an error message from the plugin) handed to the host, in characters. */
export const MAX_MESSAGE_CHARS = 16 * 1024;
/** What each message to the host costs against {@link MAX_LOG_BYTES} on top of its text. */
const MESSAGE_OVERHEAD = 64;
/** Distinct refused env vars (or refused socket operations) reported per call. */
const MAX_NOTICES = 20;

type Level = "trace" | "debug" | "info" | "warn" | "error";

/** Cuts a plugin-provided text to `max` characters, saying so. */
export function truncate(text: string, max = MAX_MESSAGE_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters cut by the host)`;
}

/** The counters of one call; the worker's CallContext delegates to these. */
export type CallBudget = {
  write(stream: "stdout" | "stderr", view: Uint8Array): void;
  writeZeroes(stream: "stdout" | "stderr", count: number): void;
  log(level: Level, message: string): void;
  envRefused(name: string): void;
  refuse(what: string): void;
  takeBody(total: number, n: number): boolean;
  takeHeaders(n: number): boolean;
  release(n: number): void;
  /** The host handed the plugin `n` bytes of a response (held until read). */
  received(n: number): void;
  /** Response bytes handed over in this call. */
  receivedBytes(): number;
  room(): number;
  /** Sends output still waiting to be coalesced (before any other message to the host). */
  flush(): void;
  /** The call is over: the decoders' last bytes and waiting output go to the host. */
  end(): void;
};

/**
 * @param o.post sends a message to the host; `maxRequestBytes` the plugin's
 *   limits.max_request_bytes; `capBytes` its memory cap and `memoryBytes` its linear memory now.
 */
export function createCallBudget(o: {
  callId: number;
  post(msg: FromWorker): void;
  maxRequestBytes: number;
  capBytes: number;
  memoryBytes(): number;
}): CallBudget {
  const { callId, post } = o;
  const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  let logBytes = 0;
  let capped = false;
  let pending: { stream: "stdout" | "stderr"; text: string; timeMs: number } | undefined;
  let headerBytes = 0;
  let held = 0;
  let received = 0;
  const envNotices = new Set<string>();
  const refusals = new Set<string>();
  const verdicts = new Set<string>();

  const flush = () => {
    if (pending) post({ type: "output", callId, ...pending });
    pending = undefined;
  };
  const cap = () => {
    if (capped) return;
    capped = true;
    flush();
    post({
      type: "log",
      callId,
      stream: "log",
      level: "warn",
      message: `host: dropped further output: more than ${MAX_LOG_BYTES} bytes of logs in one call`,
      timeMs: Date.now(),
    });
  };
  /** Log bytes still free for a new message (after its overhead), or 0 once capped. */
  const logRoom = () => (capped ? 0 : Math.max(0, MAX_LOG_BYTES - logBytes - MESSAGE_OVERHEAD));
  const emit = (stream: "stdout" | "stderr", text: string) => {
    if (text === "") return;
    const now = Date.now();
    if (pending && pending.stream === stream && pending.timeMs === now) {
      pending.text += text;
      return;
    }
    flush();
    logBytes += MESSAGE_OVERHEAD;
    pending = { stream, text, timeMs: now };
  };
  const room = () => o.capBytes - o.memoryBytes() - held;
  const verdict = (kind: "denied" | "memory-limit", message: string) => {
    if (verdicts.has(kind)) return;
    verdicts.add(kind);
    post({ type: "verdict", callId, kind, message });
  };
  const fits = (n: number, what: string) => {
    if (n <= room()) return true;
    verdict(
      "memory-limit",
      `the plugin ran out of memory: ${what} of ${n} bytes would not fit next to what it already uses; it may use at most ${Math.round(o.capBytes / 1048576)} MiB (limits.memory_mb in its config.toml)`,
    );
    return false;
  };

  return {
    write(stream, view) {
      const free = logRoom();
      const n = Math.min(view.length, free);
      if (n > 0) {
        logBytes += n;
        emit(stream, decoders[stream].decode(view.subarray(0, n), { stream: true }));
      }
      if (n < view.length) cap();
    },
    writeZeroes(stream, count) {
      const n = Math.min(count, logRoom());
      if (n > 0) {
        logBytes += n;
        emit(stream, "\0".repeat(n));
      }
      if (n < count) cap();
    },
    log(level, message) {
      flush();
      const free = logRoom();
      if (free <= 0) return cap();
      logBytes += Math.min(message.length, free) + MESSAGE_OVERHEAD;
      post({ type: "log", callId, stream: "log", level, message: message.slice(0, free), timeMs: Date.now() });
      if (message.length > free) cap();
    },
    envRefused(name) {
      if (envNotices.has(name) || envNotices.size >= MAX_NOTICES) return;
      envNotices.add(name);
      flush();
      post({ type: "env-refused", callId, name: truncate(name, 200) });
    },
    refuse(what) {
      if (refusals.has(what) || refusals.size >= MAX_NOTICES) return;
      refusals.add(what);
      flush();
      post({ type: "refused", callId, what });
    },
    takeBody(total, n) {
      if (total > o.maxRequestBytes) {
        verdict(
          "denied",
          `the plugin tried to send a request body of more than ${o.maxRequestBytes} bytes (limits.max_request_bytes in its config.toml)`,
        );
        return false;
      }
      if (!fits(n, "a request body")) return false;
      held += n;
      return true;
    },
    takeHeaders(n) {
      if (headerBytes + n > MAX_HEADER_BYTES) {
        verdict(
          "denied",
          `the plugin set more than ${MAX_HEADER_BYTES} bytes of HTTP header fields in one call (the most the host keeps for a call)`,
        );
        return false;
      }
      if (!fits(n, "header fields")) return false;
      headerBytes += n;
      held += n;
      return true;
    },
    release(n) {
      held = Math.max(0, held - n);
    },
    received(n) {
      held += n;
      received += n;
    },
    receivedBytes: () => received,
    room,
    flush,
    end() {
      for (const stream of ["stdout", "stderr"] as const) {
        const rest = decoders[stream].decode();
        if (rest !== "") emit(stream, rest);
      }
      flush();
    },
  };
}
