/**
 * The admin page's audit-log view: entries newest first, filtered by type and actor on the server
 * (`GET /api/admin/audit?type=&actor=`), 200 a page, "older" pages by entry number.
 */
import type { Api, AuditEntry } from "../api.ts";
import { Changes } from "./changes.svelte.ts";

/** Entries the server returns per page (routes/tokens.ts). */
const PAGE = 200;

export class AuditLog {
  type = $state("");
  actor = $state("");
  entries = $state.raw<AuditEntry[] | undefined>(undefined);
  /** Whether an older page may exist (the last one was full). */
  more = $state(false);
  readonly changes = new Changes();
  #api: Api;

  constructor(api: Api) {
    this.#api = api;
  }

  /** Loads the newest entries matching the current filters. */
  load = () =>
    this.changes.load(async () => {
      const page = await this.#page();
      this.entries = page;
      this.more = page.length === PAGE;
    });

  /** Appends the next older page. */
  older = () =>
    this.changes.load(async () => {
      const last = this.entries?.at(-1);
      if (!last) return;
      const page = await this.#page(last.seq);
      this.entries = [...(this.entries ?? []), ...page];
      this.more = page.length === PAGE;
    });

  #page = (before?: number) =>
    this.#api.audit({ type: this.type || undefined, actor: this.actor || undefined, before });
}
