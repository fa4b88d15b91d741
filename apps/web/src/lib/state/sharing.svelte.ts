/**
 * The Share dialog's state for one notebook: members and their roles, visibility, share links, and
 * the one share-link URL just created (its secret is shown once, then forgotten). Every change is
 * a REST call (docs/api.md) followed by a fresh `GET …/access`, so the dialog shows what the
 * server decided. Owners manage members and visibility; editors see them and manage share links.
 * `onChanged` hears every change that worked (each one is an incident-log entry).
 */
import type { NotebookRole, Visibility } from "@databook/wire";
import type { Api, NotebookAccess, Subject } from "../api.ts";
import { Changes } from "./changes.svelte.ts";

export class NotebookSharing {
  readonly notebookId: string;
  access = $state.raw<NotebookAccess | undefined>(undefined);
  /** The share link created last, with its secret URL: shown until the dialog closes. */
  created = $state.raw<{ label: string; url: string } | undefined>(undefined);
  isOwner = $derived(this.access?.yourRole === "owner");
  readonly changes = new Changes();
  #api: Api;
  #onChanged: () => void;

  constructor(api: Api, notebookId: string, onChanged: () => void = () => {}) {
    this.#api = api;
    this.notebookId = notebookId;
    this.#onChanged = onChanged;
  }

  /** Loads (again) what the server says about who has access. */
  load = () =>
    this.changes.load(async () => {
      this.access = await this.#api.access(this.notebookId);
    });

  setRole = (subject: Subject, role: NotebookRole) =>
    this.#change(() => this.#api.setMember(this.notebookId, subject, role));
  remove = (subject: Subject) => this.#change(() => this.#api.removeMember(this.notebookId, subject));
  setVisibility = (v: Visibility) => this.#change(() => this.#api.setVisibility(this.notebookId, v));
  revokeLink = (linkId: string) => this.#change(() => this.#api.revokeShareLink(this.notebookId, linkId));

  /** Creates a viewer link; on success `created` holds its URL (the only time it is shown). */
  createLink = (label: string, expiresAtMs?: number) =>
    this.#change(async () => {
      const r = await this.#api.createShareLink(this.notebookId, label, expiresAtMs);
      this.created = { label: r.link.label, url: r.url };
    });

  async #change(fn: () => Promise<unknown>): Promise<boolean> {
    const ok = await this.changes.run(fn, this.load);
    if (ok) this.#onChanged();
    return ok;
  }
}
