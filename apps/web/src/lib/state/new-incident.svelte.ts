/**
 * The "new incident" form's state (docs/incidents.md, "A new incident"): title and severity, the
 * runbooks suggested for them (`GET /api/runbooks`, those whose matchers hold on the severity
 * first, then by title words), the parameters the chosen runbook asks for, and the request that
 * opens the incident (`POST /api/incidents`). A refusal keeps the form as it is, with the
 * server's message naming the parameter to fix.
 */
import type { Api, OpenedIncident, RunbookView } from "../api.ts";
import { fieldsOf, suggest } from "./runbook-suggestions.ts";

export class NewIncidentForm {
  title = $state("");
  severity = $state("");
  runbooks = $state.raw<RunbookView[]>([]);
  runbookId = $state("");
  /** Values typed, by field key (`params.version`). */
  values = $state<Record<string, string>>({});
  busy = $state(false);
  problem = $state.raw<{ kind: string; message: string } | undefined>(undefined);
  listProblem = $state<string | undefined>(undefined);
  readonly #api: Api;

  constructor(api: Api) {
    this.#api = api;
  }

  chosen = $derived(this.runbooks.find((r) => r.notebookId === this.runbookId));
  fields = $derived(fieldsOf(this.chosen));
  /** The runbooks offered; the chosen one stays in view even when others rank above it now. */
  suggestions = $derived.by(() => {
    const list = suggest(this.runbooks, this.title);
    return this.chosen && !list.includes(this.chosen) ? [...list, this.chosen] : list;
  });

  /** Asks the server for the runbooks that fit the severity (the title words rank them here). */
  async load(): Promise<void> {
    const sev = this.severity.trim();
    try {
      this.runbooks = await this.#api.runbooks(sev ? { severity: sev } : {});
      this.listProblem = undefined;
    } catch (e) {
      this.listProblem = `could not list runbooks: ${(e as Error).message}`;
    }
  }

  /** Opens the incident; resolves with what the server made, or undefined (see `problem`). */
  async submit(): Promise<OpenedIncident | undefined> {
    this.busy = true;
    this.problem = undefined;
    const sev = this.severity.trim();
    const body = {
      labels: {} as Record<string, string>,
      annotations: {} as Record<string, string>,
      params: {} as Record<string, string>,
    };
    // the severity is a label too, for runbooks that use {{ labels.severity }}
    if (sev) body.labels.severity = sev;
    for (const f of this.fields) {
      const v = this.values[f.key] ?? "";
      if (v !== "") body[f.source][f.name] = v;
    }
    try {
      return await this.#api.openIncident({
        ...(this.title.trim() ? { title: this.title.trim() } : {}),
        ...(sev ? { severity: sev } : {}),
        ...(this.runbookId ? { runbookId: this.runbookId } : {}),
        ...body,
      });
    } catch (e) {
      const err = e as { kind?: string; message?: string };
      this.problem = { kind: err.kind ?? "internal", message: err.message ?? String(e) };
      return undefined;
    } finally {
      this.busy = false;
    }
  }
}
