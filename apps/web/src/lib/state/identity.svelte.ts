/**
 * Who this browser is signed in as, as the server says (`GET /api/me`): a person with an account,
 * a stakeholder following a share link, or nobody. Nothing here is typed by the person: names and
 * colours come from the server's principal.
 */
import { type NotebookRole, type PresenceUser, presenceFor } from "@databook/wire";
import type { Account, Api, Me } from "../api.ts";

export type IdentityStatus = "loading" | "signed-in" | "share-link" | "signed-out" | "unreachable";

export class Identity {
  me = $state.raw<Me | undefined>(undefined);
  status = $state<IdentityStatus>("loading");
  /** Why `/api/me` could not be asked (status `unreachable`). */
  problem = $state<string | undefined>(undefined);
  /**
   * What ended while the page was open (a request answered 401): a person's session, or the share
   * link a stakeholder was following. Undefined after an explicit sign-out or when never signed in.
   */
  lost = $state<"session" | "share-link" | undefined>(undefined);
  name = $derived(this.me?.principal.name ?? "");
  account = $derived(this.me?.account);
  isAdmin = $derived(this.me?.account?.role === "admin");
  isStakeholder = $derived(this.status === "share-link");
  #api: Api;

  constructor(api: Api) {
    this.#api = api;
  }

  /** Asks the server who this is (again). */
  async load(): Promise<void> {
    try {
      this.#set(await this.#api.me());
    } catch (e) {
      const err = e as { status?: number; message?: string };
      if (err.status === 401) this.signedOut();
      else {
        this.status = "unreachable";
        this.problem = err.message ?? String(e);
      }
    }
  }

  /** The server answered 401: the session is gone (expired, revoked, signed out elsewhere) or never was. */
  signedOut(): void {
    if (this.status === "signed-in") this.lost = "session";
    if (this.status === "share-link") this.lost = "share-link";
    this.me = undefined;
    this.status = "signed-out";
  }

  /** After the account was changed on the account page (display name, password). */
  accountChanged(account: Account): void {
    if (!this.me) return;
    this.#set({ ...this.me, account, principal: { ...this.me.principal, name: account.displayName } });
  }

  /** Ends this browser's session (or every session of the account) on the server. */
  async signOut(everywhere = false): Promise<void> {
    try {
      await (everywhere ? this.#api.signOutEverywhere() : this.#api.signOut());
    } catch (e) {
      if ((e as { status?: number }).status !== 401) throw e; // already ended: that is what was asked
    }
    this.me = undefined;
    this.lost = undefined;
    this.status = "signed-out";
  }

  /** The presence (name, colour) the server stamps on this person's connections with `role`. */
  presence(role: NotebookRole): PresenceUser | undefined {
    return this.me ? presenceFor(this.me.principal, role === "viewer" ? "viewer" : "editor") : undefined;
  }

  #set(me: Me): void {
    this.me = me;
    this.lost = undefined;
    this.problem = undefined;
    this.status = me.account ? "signed-in" : "share-link";
  }
}
