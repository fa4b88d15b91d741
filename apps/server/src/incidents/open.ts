import type { PluginHost } from "@databook/plugin-host";
import {
  type IncidentAlert,
  type IncidentRecord,
  type Principal,
  type RunTrigger,
  SEVERITY_PATTERN,
  type Visibility,
} from "@databook/wire";
import type { AlertDelivery } from "../alerts/payload.ts";
import type { Account } from "../auth/accounts.ts";
import type { Identities, Identity } from "../auth/identity.ts";
import { cellsSnapshot } from "../collab/schema.ts";
import { isUniqueViolation, type Sql } from "../db/sql.ts";
import type { LogEntry, LogStore, NewLogEntry } from "../log/store.ts";
import type { NotebookRow, NotebookStore } from "../notebooks/store.ts";
import { messageFor } from "../notify/messages.ts";
import type { Outbox } from "../notify/outbox.ts";
import { setsActionOption } from "../plugin-list.ts";
import type { RecordChannel } from "../record/channel.ts";
import type { AlertsReceivedData, IncidentOpenedData } from "../record/incident-from-log.ts";
import { incidentOf } from "../record/incident-from-log.ts";
import type { ParamValues } from "../runbooks/params.ts";
import type { Runbook, Runbooks } from "../runbooks/store.ts";
import type { RunService } from "../runs/run.ts";
import type { SearchIndex } from "../search.ts";
import { checkLine } from "../text.ts";
import type { IncidentSettings } from "./config.ts";
import { type PreparedCells, prepareCells } from "./from-runbook.ts";
import type { IncidentTable } from "./table.ts";

/** What opening incidents needs from the server. */
export type IncidentDeps = {
  sql: Sql;
  notebooks: NotebookStore;
  runbooks: Runbooks;
  table: IncidentTable;
  log: Pick<LogStore, "entries">;
  appendLog: (e: NewLogEntry) => LogEntry;
  record: RecordChannel;
  runs: RunService;
  host?: PluginHost;
  search: SearchIndex;
  outbox: Outbox;
  identities: Identities;
  settings: IncidentSettings;
  notebookUrl: (notebookId: string) => string;
  now: () => number;
  warn: (message: string) => void;
};

/** The answer to one Alertmanager delivery. */
export type DeliveryOutcome = {
  /** The incident it went to (none: a `resolved` delivery for a group that never had one). */
  notebookId?: string;
  created: boolean;
  /** Whether it changed anything (a repeat of what the incident already holds changes nothing). */
  recorded: boolean;
  runbook?: { id: string; title: string };
  /** Cells that will run now (after plugins have loaded). */
  autorun: string[];
};

/** How long autorun waits for the plugins to load after a restart before giving up on a cell (ms). */
const AUTORUN_WAIT_MS = 60_000;

/** What decides that an alert changed: its status and start, and for a resolved one its end. */
const stateKey = (a: IncidentAlert | undefined) =>
  a ? `${a.status}|${a.startsAtMs}|${a.status === "resolved" ? (a.endsAtMs ?? "") : ""}` : "";

/** A title for an alert group without a runbook: its alert name and summary. */
function blankTitle(d: AlertDelivery): string {
  const name = d.commonLabels.alertname ?? d.alerts[0]?.labels.alertname ?? "Alert";
  const summary = d.commonAnnotations.summary ?? "";
  const text = `${name}${summary ? `: ${summary}` : ""}`.replace(/\s+/g, " ");
  // plain text shown as text: control and bidirectional-formatting characters are dropped
  const clean = [...text]
    .filter((ch) => !/[\p{Cc}\p{Cf}]/u.test(ch))
    .join("")
    .trim();
  return [...clean].length > 200 ? `${[...clean].slice(0, 199).join("")}…` : clean || "Alert";
}

/**
 * Opening incidents (docs/incidents.md): from an Alertmanager delivery (a firing group without an
 * open incident opens one; later deliveries add to it, repeats change nothing) and from the page.
 * An incident is a notebook made from the matching runbook (cells copied, parameters filled), with
 * a `since` time range, an `incident.opened` entry, its alerts in `alerts.received` entries, and
 * an `incident.opened` notification per channel — all in one transaction. Autorun cells then run
 * through the run service.
 */
export function createIncidentOpener(d: IncidentDeps) {
  const { sql, notebooks, runbooks, table, record } = d;
  let closed = false;
  const waits = new Set<() => void>();

  const isAction = (plugin: string, options: string[]) => setsActionOption(d.host, plugin, options);

  function fromRunbook(rb: Runbook, values: ParamValues): PreparedCells & { runbook: { id: string; title: string } } {
    const nb = notebooks.get(rb.notebookId)!;
    const cells = notebooks.withDoc(rb.notebookId, cellsSnapshot);
    return { ...prepareCells(nb.title, cells, values, isAction), runbook: { id: nb.id, title: nb.title } };
  }

  /** Writes a new incident notebook and its first entries inside the transaction `tx`. */
  async function openTx(
    tx: Sql,
    o: {
      source: "alert" | "page";
      title: string;
      prepared?: PreparedCells & { runbook: { id: string; title: string } };
      params?: Record<string, string>;
      severity?: string;
      visibility: Visibility;
      windowFromMs: number;
      delivery?: AlertDelivery;
      actor: Principal;
      owner: Account;
      atMs: number;
    },
  ): Promise<{ notebook: NotebookRow; entries: LogEntry[] }> {
    const p = o.prepared;
    // the notebook, log and outbox stores are still synchronous on the same connection: what they
    // write joins this transaction
    const notebook = notebooks.create({
      title: o.title,
      timeRange: { kind: "since", fromMs: o.windowFromMs },
      ...(p ? { templateId: p.runbook.id } : {}),
      cells: p?.cells ?? [],
      visibility: o.visibility,
      actor: o.actor,
      ownerId: o.owner.id,
    });
    await table.insert(notebook.id, o.delivery?.groupKey ?? null, o.delivery?.receiver ?? null, o.atMs, tx);
    const opened: IncidentOpenedData = {
      source: o.source,
      status: "investigating",
      ...(o.severity ? { severity: o.severity } : {}),
      windowFromMs: o.windowFromMs,
      ...(o.delivery ? { groupKey: o.delivery.groupKey, receiver: o.delivery.receiver } : {}),
      ...(p
        ? {
            runbook: p.runbook,
            ...(o.params && Object.keys(o.params).length ? { params: o.params } : {}),
            fromRunbook: p.fromRunbook,
            autorun: p.autorun,
            problems: p.problems,
          }
        : {}),
    };
    const entries = [
      d.appendLog({ notebookId: notebook.id, type: "incident.opened", atMs: o.atMs, actor: o.actor, data: opened }),
    ];
    if (o.delivery) entries.push(appendDelivery(notebook.id, o.delivery, o.delivery.alerts, o.actor, o.atMs));
    const incident = incidentOf(d.log.entries(notebook.id))!;
    await d.outbox.enqueue(
      notebook.id,
      messageFor("incident.opened", link(notebook), incident, o.actor, o.atMs),
      o.actor,
      tx,
    );
    return { notebook, entries };
  }

  const link = (nb: NotebookRow) => ({ id: nb.id, title: nb.title, url: d.notebookUrl(nb.id) });

  function appendDelivery(
    notebookId: string,
    a: AlertDelivery,
    alerts: IncidentAlert[],
    actor: Principal,
    atMs: number,
  ): LogEntry {
    const data: AlertsReceivedData = {
      groupKey: a.groupKey,
      receiver: a.receiver,
      status: a.status,
      ...(a.externalURL ? { externalURL: a.externalURL } : {}),
      truncatedAlerts: a.truncatedAlerts,
      alerts,
    };
    return d.appendLog({ notebookId, type: "alerts.received", atMs, actor, data });
  }

  /** Adds a delivery's changed alerts to an incident; nothing when every alert is as the incident has it. */
  function addToTx(notebookId: string, a: AlertDelivery, actor: Principal, atMs: number): LogEntry[] {
    const known = record.alerts(notebookId);
    const changed = a.alerts.filter((x) => stateKey(known.get(x.fingerprint)) !== stateKey(x));
    return changed.length ? [appendDelivery(notebookId, a, changed, actor, atMs)] : [];
  }

  /** After the transaction: publish to open pages, index, and start the autorun cells. */
  async function after(
    notebookId: string,
    entries: LogEntry[],
    created?: { title: string; autorun: string[]; trigger: RunTrigger; actor: Principal },
  ) {
    for (const e of entries) record.logged(e);
    if (!created) return;
    await d.search.setTitle(notebookId, created.title);
    notebooks.withDoc(notebookId, () => undefined); // loading indexes the copied cells
    void autorun(notebookId, created.autorun, created.actor, created.trigger);
  }

  /**
   * Runs the autorun cells through the run service once the plugins have loaded (after a restart
   * they load in the background). The run service refuses a cell that sets an action option, or
   * whose plugin it cannot describe, whatever the runbook says.
   */
  async function autorun(notebookId: string, cellIds: string[], actor: Principal, trigger: RunTrigger): Promise<void> {
    if (!cellIds.length) return;
    if (d.host) {
      let done = () => {};
      const stop = new Promise<void>((r) => {
        done = r;
        waits.add(r);
      });
      const timer = setTimeout(done, AUTORUN_WAIT_MS);
      await Promise.race([d.host.ready, stop]);
      clearTimeout(timer);
      waits.delete(done);
    }
    for (const cellId of cellIds) {
      if (closed) return;
      try {
        d.runs.start(notebookId, cellId, actor, { trigger, mayRunActions: false });
      } catch (e) {
        d.warn(
          `autorun of cell ${cellId} in notebook ${notebookId} was refused: ${(e as { message?: string }).message}`,
        );
      }
    }
  }

  function severityOf(labels: Record<string, string>): string | undefined {
    const s = labels.severity;
    return s && SEVERITY_PATTERN.test(s) ? s : undefined;
  }

  async function receiveTx(tx: Sql, a: AlertDelivery, caller: Identity, atMs: number) {
    const actor = caller.principal!;
    const usable = async (id: string) => {
      const nb = notebooks.get(id);
      return !!nb && !!(await d.identities.roleOn(caller, nb, tx));
    };
    const open =
      (await table.openFor(a.groupKey, tx)) ??
      (a.status === "resolved" ? await table.latestFor(a.groupKey, tx) : undefined);
    if (open) {
      // group keys are guessable and any member may make an alerts token: only a token whose
      // owner may view the group's incident adds to it, and no other learns which notebook it is
      if (!(await usable(open.notebook_id)))
        throw {
          kind: "denied",
          message: `alert group ${JSON.stringify(a.groupKey)} belongs to an incident this token's owner may not view; send it with the token of someone who may (docs/incidents.md)`,
        };
      return { notebookId: open.notebook_id, entries: addToTx(open.notebook_id, a, actor, atMs) };
    }
    // a resolved delivery for a group that never had an incident opens nothing
    if (a.status === "resolved") return { entries: [] as LogEntry[] };
    let rb = await runbooks.choose(a.commonLabels, usable, tx);
    const fallback = d.settings.defaultRunbookId;
    if (!rb && fallback) {
      rb = await runbooks.get(fallback, tx);
      if (!rb || !(await usable(fallback))) {
        d.warn(
          `DATABOOK_DEFAULT_RUNBOOK=${fallback} is not a runbook the alert token's owner may view; opening a blank incident`,
        );
        rb = undefined;
      }
    }
    const values: ParamValues = { labels: a.commonLabels, annotations: a.commonAnnotations, params: {} };
    const prepared = rb ? fromRunbook(rb, values) : undefined;
    const earliest = Math.min(atMs, ...a.alerts.map((x) => x.startsAtMs));
    const severity = severityOf(a.commonLabels);
    const made = await openTx(tx, {
      source: "alert",
      title: prepared?.title || blankTitle(a),
      ...(prepared ? { prepared } : {}),
      ...(severity ? { severity } : {}),
      visibility: rb?.visibility ?? d.settings.defaultVisibility,
      windowFromMs: Math.max(0, earliest - d.settings.lookbackMs),
      delivery: a,
      actor,
      owner: caller.account!,
      atMs,
    });
    return { notebookId: made.notebook.id, entries: made.entries, created: made.notebook, prepared };
  }

  return {
    /**
     * Takes one Alertmanager delivery from a token principal (`caller`: the token's identity, whose
     * owner owns a new incident). Deduplicated on `groupKey`: a group's open incident takes every
     * delivery; the unique index turns a second writer's insert into "add to the first".
     */
    async fromAlert(a: AlertDelivery, caller: Identity): Promise<DeliveryOutcome> {
      const t = d.now();
      let r: Awaited<ReturnType<typeof receiveTx>>;
      try {
        r = await sql.transaction((tx) => receiveTx(tx, a, caller, t));
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
        // another writer opened it first: add to that one
        r = await sql.transaction((tx) => receiveTx(tx, a, caller, t));
      }
      const autorunCells = r.prepared?.autorun ?? [];
      if (r.notebookId)
        await after(
          r.notebookId,
          r.entries,
          r.created && {
            title: r.created.title,
            autorun: autorunCells,
            trigger: { kind: "alert", alertGroup: a.groupKey },
            actor: caller.principal!,
          },
        );
      return {
        ...(r.notebookId ? { notebookId: r.notebookId } : {}),
        created: !!r.created,
        recorded: r.entries.length > 0,
        ...(r.prepared ? { runbook: r.prepared.runbook } : {}),
        autorun: autorunCells,
      };
    },

    /**
     * Opens an incident from the page: `runbookId` (a runbook the caller may view) is filled with
     * the given labels, annotations and params — a parameter that cannot be filled refuses the
     * whole request, naming it. Throws `{ kind, message }` (`bad-input`, `not-found`).
     */
    async fromPage(
      input: {
        title?: string;
        severity?: string;
        runbookId?: string;
        values: ParamValues;
        visibility?: Visibility;
      },
      caller: Identity,
    ): Promise<{ notebook: NotebookRow; incident: IncidentRecord; autorun: string[] }> {
      const actor = caller.principal!;
      let rb: Runbook | undefined;
      if (input.runbookId) {
        rb = await runbooks.get(input.runbookId);
        const nb = rb && notebooks.get(rb.notebookId);
        if (!rb || !nb || !(await d.identities.roleOn(caller, nb)))
          throw { kind: "not-found", message: `no runbook ${input.runbookId} (or you have no access to it)` };
      }
      const prepared = rb ? fromRunbook(rb, input.values) : undefined;
      if (prepared?.problems.length)
        throw {
          kind: "bad-input",
          message: `the runbook's parameters cannot all be filled: ${prepared.problems.map((p) => p.message).join("; ")}`,
        };
      const title = checkLine(input.title ?? "", "title", 200, true) || prepared?.title || "Untitled incident";
      const t = d.now();
      const made = await sql.transaction((tx) =>
        openTx(tx, {
          source: "page",
          title,
          ...(prepared ? { prepared, params: input.values.params } : {}),
          ...(input.severity ? { severity: input.severity } : {}),
          visibility: input.visibility ?? rb?.visibility ?? d.settings.defaultVisibility,
          windowFromMs: Math.max(0, t - d.settings.lookbackMs),
          actor,
          owner: caller.account!,
          atMs: t,
        }),
      );
      const autorunCells = prepared?.autorun ?? [];
      await after(made.notebook.id, made.entries, {
        title,
        autorun: autorunCells,
        trigger: { kind: "autorun" },
        actor,
      });
      return { notebook: made.notebook, incident: record.incident(made.notebook.id)!, autorun: autorunCells };
    },

    /** Stops autoruns still waiting for plugins (at shutdown). */
    close(): void {
      closed = true;
      for (const w of waits) w();
    },
  };
}

export type IncidentOpener = ReturnType<typeof createIncidentOpener>;
