/**
 * A call context for running plugin instances outside a host call (the benchmark's same-thread
 * cases): no env, logs dropped, every outbound request refused, room for anything.
 */
import type { CallContext } from "../../plugin-host/src/worker/wasi.ts";

export const NOOP_CONTEXT: CallContext = {
  env: [],
  write() {},
  writeZeroes() {},
  log() {},
  envRefused() {},
  refuse() {},
  httpCheck: () => ({ ok: false, error: { tag: "HTTP-request-denied" } }),
  httpSend: () => ({ ok: false, error: { tag: "HTTP-request-denied" } }),
  takeBody: () => false,
  takeHeaders: () => false,
  release() {},
  room: () => Number.MAX_SAFE_INTEGER,
};
