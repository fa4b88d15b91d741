import { SEVERITY_PATTERN, VISIBILITIES, type Visibility } from "@databook/wire";
import type { FastifyInstance } from "fastify";
import type { Services } from "../app.ts";
import { access } from "../auth/rules.ts";
import { httpError } from "../http-errors.ts";
import { NOT_AN_INCIDENT } from "../incidents/state.ts";
import { ARCHIVED_REFUSAL } from "../notebooks/store.ts";
import { refusedCharacter } from "../text.ts";
import { notebookOf, publicNotebook } from "./notebooks.ts";

/** Most labels, annotations or params a "new incident" request may give. */
const MAX_VALUES = 50;

/** A request body's `{ name: value }` object of strings (labels, annotations, params), checked. */
function valuesFrom(x: unknown, what: string): Record<string, string> {
  if (x === undefined || x === null) return {};
  if (typeof x !== "object" || Array.isArray(x))
    throw httpError(400, "bad-input", `${what} must be an object of strings`);
  const entries = Object.entries(x as Record<string, unknown>);
  if (entries.length > MAX_VALUES) throw httpError(400, "bad-input", `${what} has more than ${MAX_VALUES} entries`);
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
      throw httpError(
        400,
        "bad-input",
        `${what}: ${JSON.stringify(k.slice(0, 40))} is not a name (letters, digits, _)`,
      );
    if (typeof v !== "string" || v.length > 4096)
      throw httpError(400, "bad-input", `${what}.${k} must be a string of at most 4096 characters`);
    if (refusedCharacter(v.replace(/\n/g, " ")))
      throw httpError(400, "bad-input", `${what}.${k} holds a control or bidirectional-formatting character`);
    out[k] = v;
  }
  return out;
}

/**
 * Incidents (docs/incidents.md): opening one from the page (with a runbook, its parameters asked
 * for), and the state stakeholders follow — status, severity, summary, people in roles — which
 * editors change and the record channel publishes to every page.
 */
export async function incidentRoutes(app: FastifyInstance, { services: s }: { services: Services }) {
  app.post("/api/incidents", { config: access.signedIn("run") }, async (req, reply) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (b.title !== undefined && typeof b.title !== "string")
      throw httpError(400, "bad-input", "title must be a string");
    if (b.severity !== undefined && (typeof b.severity !== "string" || !SEVERITY_PATTERN.test(b.severity)))
      throw httpError(400, "bad-input", "severity must be 1–32 letters, digits, _ . : - (e.g. critical, SEV1)");
    if (b.runbookId !== undefined && typeof b.runbookId !== "string")
      throw httpError(400, "bad-input", "runbookId must be a runbook's notebook id");
    if (b.visibility !== undefined && !(VISIBILITIES as readonly unknown[]).includes(b.visibility))
      throw httpError(400, "bad-input", `visibility must be one of ${VISIBILITIES.join(", ")}`);
    const out = await s.incidents.fromPage(
      {
        ...(b.title !== undefined ? { title: b.title as string } : {}),
        ...(b.severity !== undefined ? { severity: b.severity as string } : {}),
        ...(b.runbookId !== undefined ? { runbookId: b.runbookId as string } : {}),
        ...(b.visibility !== undefined ? { visibility: b.visibility as Visibility } : {}),
        values: {
          labels: valuesFrom(b.labels, "labels"),
          annotations: valuesFrom(b.annotations, "annotations"),
          params: valuesFrom(b.params, "params"),
        },
      },
      req.identity,
    );
    reply.code(201);
    return { notebook: publicNotebook(out.notebook, "owner"), incident: out.incident, autorun: out.autorun };
  });

  app.get("/api/notebooks/:id/incident", { config: access.notebook("viewer") }, async (req) => {
    const inc = s.record.incident(notebookOf(req).notebook.id);
    if (!inc) throw NOT_AN_INCIDENT;
    return inc;
  });

  app.patch("/api/notebooks/:id/incident", { config: access.notebook("editor") }, async (req) => {
    const { notebook } = notebookOf(req);
    if (notebook.archived) throw httpError(409, "bad-input", ARCHIVED_REFUSAL.change);
    const b = (req.body ?? {}) as { status?: unknown; severity?: unknown; summary?: unknown };
    return s.incidentState.update(notebook.id, b, req.identity.principal!);
  });

  app.put("/api/notebooks/:id/incident/roles", { config: access.notebook("editor") }, async (req) => {
    const { notebook } = notebookOf(req);
    if (notebook.archived) throw httpError(409, "bad-input", ARCHIVED_REFUSAL.change);
    const b = (req.body ?? {}) as { role?: unknown; accountId?: unknown };
    return s.incidentState.assignRole(notebook.id, b.role, b.accountId, req.identity.principal!);
  });

  app.delete(
    "/api/notebooks/:id/incident/roles/:role/:accountId",
    { config: access.notebook("editor") },
    async (req) => {
      const { notebook } = notebookOf(req);
      if (notebook.archived) throw httpError(409, "bad-input", ARCHIVED_REFUSAL.change);
      const p = req.params as { role: string; accountId: string };
      return s.incidentState.removeRole(notebook.id, p.role, p.accountId, req.identity.principal!);
    },
  );
}
