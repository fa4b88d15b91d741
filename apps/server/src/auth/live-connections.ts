import { CLOSE_CODES, closeReason, type NotebookRole } from "@databook/wire";
import type { Identities, Identity } from "./identity.ts";

/** One open co-editing connection as access control sees it. */
export type LiveConnection = {
  identity: Identity;
  notebookId: string;
  role: NotebookRole;
  /** Closes the socket with a close code from `@databook/wire`. */
  close(code: number, reason: string): void;
};

/**
 * Open connections by principal, so an access change reaches them at once: after a member is
 * removed, a role changed, a share link revoked, a session ended or an account disabled — in this
 * process or by the CLI in another — {@link recheck} closes each connection whose rights changed:
 * SESSION_ENDED or ACCESS_REMOVED (final), RIGHTS_CHANGED (the page reconnects with new rights).
 */
export function createLiveConnections(opts: {
  identities: Identities;
  notebookById: (id: string) => { id: string; visibility: "signed-in" | "restricted" } | undefined;
  onClosed?: (reason: "session-ended" | "access-removed" | "rights-changed") => void;
}) {
  const live = new Set<LiveConnection>();
  /** The recheck running now: the next one starts after it (each reads the database afresh). */
  let rechecking: Promise<number> = Promise.resolve(0);

  return {
    /** Registers a connection; returns the function that unregisters it (call it on close). */
    add(c: LiveConnection): () => void {
      live.add(c);
      return () => live.delete(c);
    },
    /** How many connections are registered. */
    get size(): number {
      return live.size;
    },
    /**
     * Re-decides every connection's access from the database as it is now, after any recheck still
     * running. Resolves to how many were closed. Cheap when nothing changed: one session lookup and
     * one role decision per connection.
     */
    recheck(): Promise<number> {
      rechecking = rechecking.catch(() => 0).then(recheckNow);
      return rechecking;
    },
  };

  async function recheckNow(): Promise<number> {
    let closed = 0;
    const fresh = new Map<string, Identity | undefined>();
    for (const c of [...live]) {
      const key = c.identity.session?.idHash ?? `token:${c.identity.token?.id ?? ""}`;
      if (!fresh.has(key)) fresh.set(key, await opts.identities.refresh(c.identity));
      if (!live.has(c)) continue; // closed meanwhile
      const id = fresh.get(key);
      const nb = opts.notebookById(c.notebookId);
      let code: number | undefined;
      // a stakeholder's link revoked or expired: for them that is losing access, not a sign-in
      if (!id) code = c.identity.shareLinks ? CLOSE_CODES.ACCESS_REMOVED : CLOSE_CODES.SESSION_ENDED;
      else {
        const role = nb ? await opts.identities.roleOn(id, nb) : undefined;
        if (!role) code = CLOSE_CODES.ACCESS_REMOVED;
        else if (role !== c.role) code = CLOSE_CODES.RIGHTS_CHANGED;
      }
      if (code === undefined) continue;
      live.delete(c);
      closed++;
      opts.onClosed?.(
        code === CLOSE_CODES.SESSION_ENDED
          ? "session-ended"
          : code === CLOSE_CODES.ACCESS_REMOVED
            ? "access-removed"
            : "rights-changed",
      );
      c.close(code, closeReason(code) ?? "");
    }
    return closed;
  }
}

export type LiveConnections = ReturnType<typeof createLiveConnections>;
