/**
 * An editor's changes to an incident (status, severity, summary, roles) through the REST routes
 * (docs/incidents.md, "Incident state"). Nothing is applied locally: the server logs each change
 * and publishes the incident on the record channel, so this page and every follower see it the
 * same way. `problem` holds the last refusal, worded by the server.
 */
import type { IncidentRole, IncidentStatus } from "@databook/wire";
import type { Api } from "../api.ts";

export class IncidentChanges {
  busy = $state(false);
  problem = $state.raw<{ kind: string; message: string } | undefined>(undefined);
  readonly #api: Api;
  readonly #id: string;

  constructor(api: Api, notebookId: string) {
    this.#api = api;
    this.#id = notebookId;
  }

  /** Runs one change; resolves true when the server took it (the refusal is in `problem`). */
  async #do(change: () => Promise<unknown>): Promise<boolean> {
    this.busy = true;
    this.problem = undefined;
    try {
      await change();
      return true;
    } catch (e) {
      const err = e as { kind?: string; message?: string };
      this.problem = { kind: err.kind ?? "internal", message: err.message ?? String(e) };
      return false;
    } finally {
      this.busy = false;
    }
  }

  setStatus(status: IncidentStatus): Promise<boolean> {
    return this.#do(() => this.#api.updateIncident(this.#id, { status }));
  }

  /** "" clears the severity. */
  setSeverity(severity: string): Promise<boolean> {
    return this.#do(() => this.#api.updateIncident(this.#id, { severity: severity.trim() || null }));
  }

  setSummary(summary: string): Promise<boolean> {
    return this.#do(() => this.#api.updateIncident(this.#id, { summary }));
  }

  assign(role: IncidentRole, accountId: string): Promise<boolean> {
    return this.#do(() => this.#api.assignRole(this.#id, role, accountId));
  }

  unassign(role: IncidentRole, accountId: string): Promise<boolean> {
    return this.#do(() => this.#api.removeRole(this.#id, role, accountId));
  }
}
