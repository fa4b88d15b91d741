import { MAX_PART, type SharedState } from "../cluster/shared-state.ts";
import { secretHash } from "./secrets.ts";

/**
 * Single sign-on attempts under way, kept between `/auth/oidc/start` and the provider's redirect
 * to `/auth/oidc/callback`. Each is found by its `state` and taken once, so a replayed callback
 * finds nothing; each is bound to the browser that started it by a random value in an HttpOnly
 * cookie (login CSRF: an attacker's own callback link, opened in a victim's browser, does not
 * match its cookie). Two stores, one contract:
 * - {@link createPendingSignIns}: in this process's memory (one node; a restart forgets them:
 *   people start again);
 * - {@link createSharedPendingSignIns}: in Redis (cluster mode), so the callback may land on
 *   another node than the start, and a callback taken on one node is gone on every node.
 */

/** One attempt. `bindingHash` is the SHA-256 of the browser's binding cookie. Times in ms since epoch. */
export type PendingSignIn = {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** Where to go after sign-in (already checked by safeNextPath). */
  next: string;
  bindingHash: string;
  startedAtMs: number;
};

/** How long an attempt stays valid: time enough to type a password and a one-time code. */
export const PENDING_SIGN_IN_TTL_MS = 10 * 60_000;

/** Attempts kept at most in memory; the oldest are dropped first (memory stays bounded under a flood of starts). */
export const MAX_PENDING_SIGN_INS = 10_000;

/** What a store's `take` found for a callback. */
export type TakenSignIn = { ok: true; signIn: PendingSignIn } | { ok: false; why: "unknown" | "other-browser" };

/** What both stores offer the OIDC routes. A store that cannot be reached rejects (the route refuses the sign-in). */
export type PendingSignIns = {
  /** Records an attempt started by the browser holding the binding cookie `binding`. */
  add(p: Omit<PendingSignIn, "startedAtMs" | "bindingHash">, binding: string): Promise<void>;
  /**
   * Takes (removes) the attempt with this `state` when it is live and was started by the browser
   * presenting `binding`. An attempt presented by another browser is removed too: it is spent.
   */
  take(state: string, binding: string | undefined): Promise<TakenSignIn>;
};

/** The binding check both stores make on an attempt they have just removed. */
function checked(p: PendingSignIn | undefined, binding: string | undefined, t: number): TakenSignIn {
  if (!p || t - p.startedAtMs >= PENDING_SIGN_IN_TTL_MS) return { ok: false, why: "unknown" };
  if (!binding || secretHash(binding) !== p.bindingHash) return { ok: false, why: "other-browser" };
  return { ok: true, signIn: p };
}

/** The in-memory store (one node). `size` is how many attempts are kept (for tests). */
export function createPendingSignIns(nowMs: () => number = Date.now): PendingSignIns & { readonly size: number } {
  // Map keeps insertion order: the first entries are the oldest
  const byState = new Map<string, PendingSignIn>();

  const dropExpired = (t: number) => {
    for (const [state, p] of byState) {
      if (t - p.startedAtMs < PENDING_SIGN_IN_TTL_MS) break;
      byState.delete(state);
    }
  };

  return {
    async add(p, binding) {
      const t = nowMs();
      dropExpired(t);
      while (byState.size >= MAX_PENDING_SIGN_INS) byState.delete(byState.keys().next().value!);
      byState.set(p.state, { ...p, bindingHash: secretHash(binding), startedAtMs: t });
    },
    async take(state, binding) {
      const t = nowMs();
      dropExpired(t);
      const p = byState.get(state);
      byState.delete(state);
      return checked(p, binding, t);
    },
    get size(): number {
      return byState.size;
    },
  };
}

/** An attempt as stored in Redis, or undefined when the value is not one (never trusted blindly). */
function parseAttempt(raw: string): PendingSignIn | undefined {
  try {
    const p = JSON.parse(raw) as PendingSignIn;
    const strings = [p.state, p.nonce, p.codeVerifier, p.next, p.bindingHash];
    return strings.every((v) => typeof v === "string") && typeof p.startedAtMs === "number" ? p : undefined;
  } catch {
    return undefined;
  }
}

/** The shared-state kind attempts are kept under (`databook:take:oidc-sign-in:<state>`). */
const SHARED_KIND = "oidc-sign-in";

/**
 * The store in Redis (cluster mode): `put` with a TTL of {@link PENDING_SIGN_IN_TTL_MS}, `take`
 * with GETDEL, so exactly one node gets an attempt whatever node the callback lands on. The
 * attempt's own start time is checked too (as in memory). Memory in Redis is bounded by the TTL
 * and the start route's per-address rate limit (about 300 bytes an attempt). A `state` longer than
 * shared-state accepts is no attempt of ours: it is unknown, as is a value that is not one of ours.
 * Redis errors reject.
 */
export function createSharedPendingSignIns(shared: SharedState, nowMs: () => number = Date.now): PendingSignIns {
  return {
    async add(p, binding) {
      const attempt: PendingSignIn = { ...p, bindingHash: secretHash(binding), startedAtMs: nowMs() };
      await shared.put(SHARED_KIND, p.state, JSON.stringify(attempt), PENDING_SIGN_IN_TTL_MS);
    },
    async take(state, binding) {
      if (state.length > MAX_PART) return { ok: false, why: "unknown" };
      const raw = await shared.take(SHARED_KIND, state);
      return checked(raw === undefined ? undefined : parseAttempt(raw), binding, nowMs());
    },
  };
}
