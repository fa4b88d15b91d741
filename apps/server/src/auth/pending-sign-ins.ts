import { secretHash } from "./secrets.ts";

/**
 * Single sign-on attempts under way, kept in memory between `/auth/oidc/start` and the
 * provider's redirect to `/auth/oidc/callback` (a restart forgets them: people start again).
 * Each is found by its `state` and taken once, so a replayed callback finds nothing; each is bound
 * to the browser that started it by a random value in an HttpOnly cookie (login CSRF: an
 * attacker's own callback link, opened in a victim's browser, does not match its cookie).
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

/** Attempts kept at most; the oldest are dropped first (memory stays bounded under a flood of starts). */
export const MAX_PENDING_SIGN_INS = 10_000;

/** What {@link createPendingSignIns}'s `take` found for a callback. */
export type TakenSignIn = { ok: true; signIn: PendingSignIn } | { ok: false; why: "unknown" | "other-browser" };

/** The in-memory store described in the file comment. */
export function createPendingSignIns(nowMs: () => number = Date.now) {
  // Map keeps insertion order: the first entries are the oldest
  const byState = new Map<string, PendingSignIn>();

  const dropExpired = (t: number) => {
    for (const [state, p] of byState) {
      if (t - p.startedAtMs < PENDING_SIGN_IN_TTL_MS) break;
      byState.delete(state);
    }
  };

  return {
    /** Records an attempt started by the browser holding the binding cookie `binding`. */
    add(p: Omit<PendingSignIn, "startedAtMs" | "bindingHash">, binding: string): void {
      const t = nowMs();
      dropExpired(t);
      while (byState.size >= MAX_PENDING_SIGN_INS) byState.delete(byState.keys().next().value!);
      byState.set(p.state, { ...p, bindingHash: secretHash(binding), startedAtMs: t });
    },
    /**
     * Takes (removes) the attempt with this `state` when it is live and was started by the browser
     * presenting `binding`. An attempt presented by another browser is removed too: it is spent.
     */
    take(state: string, binding: string | undefined): TakenSignIn {
      const t = nowMs();
      dropExpired(t);
      const p = byState.get(state);
      if (!p) return { ok: false, why: "unknown" };
      byState.delete(state);
      if (!binding || secretHash(binding) !== p.bindingHash) return { ok: false, why: "other-browser" };
      return { ok: true, signIn: p };
    },
    /** How many attempts are kept (for tests). */
    get size(): number {
      return byState.size;
    },
  };
}

export type PendingSignIns = ReturnType<typeof createPendingSignIns>;
