import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import {
  type IncidentRecord,
  type NotebookState,
  orderBetween,
  PROTOCOL_VERSION,
  type Principal,
  RECORD_MESSAGE,
  type RecordMessage,
  type RefreshState,
  type ReviewMark,
  type RunRecord,
  SYSTEM_PRINCIPAL,
} from "@databook/wire";
import * as decoding from "lib0/decoding";
import { WebSocket } from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { type AppOptions, createApp, type Services } from "../src/app.ts";
import { makeExport } from "../src/export/make.ts";
import { exportSources } from "../src/routes/exports.ts";
import { openTestStorage } from "./app-storage.ts";

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = "databook-test-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Polls `check` (which may be async) every 10 ms until it is true; rejects after `timeoutMs` with `what`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Someone calling a test server: their account or share link, and the headers their browser would send. */
export type Caller = {
  principal: Principal;
  /** The account id (undefined for a share-link caller). */
  id?: string;
  /** `cookie` (the session) and `origin` (this server), as a browser sends them. */
  headers: Record<string, string>;
  /** A REST call as this caller; returns status + parsed body. */
  api(path: string, method: string, body?: unknown, headers?: Record<string, string>): ReturnType<typeof api>;
  /** A real y-websocket client of `notebookId` signed in as this caller. */
  ws(notebookId: string, doc?: Y.Doc): ReturnType<typeof connectClient>;
};

/** A {@link Caller} of the server at `url` holding the session cookie `secret`. */
export function callerAt(url: string, principal: Principal, secret: string, id?: string): Caller {
  const headers = { cookie: `databook_session=${secret}`, origin: url };
  const wsBase = `${url.replace(/^http/, "ws")}/ws/notebooks`;
  return {
    principal,
    ...(id ? { id } : {}),
    headers,
    api: (path, method, body, more = {}) => api(`${url}${path}`, method, body, { ...headers, ...more }),
    ws: (notebookId, doc) => connectClient(wsBase, notebookId, headers.cookie, doc),
  };
}

/** Signs in through the real route (`POST /api/auth/signin`); throws with the answer when refused. */
export async function signIn(url: string, username: string, password: string): Promise<Caller> {
  const r = await fetch(`${url}/api/auth/signin`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: url },
    body: JSON.stringify({ username, password }),
  });
  if (r.status !== 200) throw new Error(`sign-in as ${username} answered ${r.status}: ${await r.text()}`);
  const secret = /databook_session=([^;]+)/.exec(r.headers.get("set-cookie") ?? "")?.[1];
  if (!secret) throw new Error("sign-in set no session cookie");
  const { account } = (await r.json()) as { account: { id: string; displayName: string } };
  return callerAt(url, { kind: "user", id: account.id, name: account.displayName }, secret, account.id);
}

/**
 * Runs the real `databook` command (`databook users add …`, `tokens …`), with `env` added to the
 * environment; resolves with its exit code and output.
 */
export async function databook(args: string[], input?: string, env: Record<string, string> = {}) {
  const { spawn } = await import("node:child_process");
  const bin = new URL("../bin/databook.js", import.meta.url).pathname;
  const p = spawn(process.execPath, [bin, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let stdout = "";
  let stderr = "";
  p.stdout.on("data", (d) => (stdout += d));
  p.stderr.on("data", (d) => (stderr += d));
  p.stdin.end(input ?? "");
  const code = await new Promise<number | null>((r) => p.on("exit", r));
  return { code, stdout, stderr };
}

/**
 * Callers of an in-process server (`services` of its app at `url`): sessions started directly,
 * since the sign-in route itself is tested on its own.
 */
export function people(url: string, s: Services) {
  return {
    /** Signs in as `username`, creating the account (without a password) on first use. */
    async user(username: string, role: "admin" | "member" = "member"): Promise<Caller> {
      const account = (await s.accounts.byUsername(username)) ?? (await s.accounts.create({ username, role }));
      const { secret } = await s.sessions.start({ userId: account.id }, "password");
      return callerAt(url, { kind: "user", id: account.id, name: account.displayName }, secret, account.id);
    },
    /** Gives `who` a role on a notebook (logged as the server's own change). */
    async grant(notebookId: string, who: Pick<Caller, "id">, role: "viewer" | "editor" | "owner"): Promise<void> {
      await s.sharing.setRole(notebookId, { kind: "user", id: who.id! }, role, SYSTEM_PRINCIPAL);
    },
    /** A stakeholder who opened a new share link of the notebook. */
    async stakeholder(notebookId: string, label = "stakeholders"): Promise<Caller & { linkId: string }> {
      const { link } = await s.sharing.createLink(notebookId, { label }, SYSTEM_PRINCIPAL);
      const { secret } = await s.sessions.start({ shareLinkId: link.id }, "share-link");
      return { ...callerAt(url, { kind: "share-link", id: link.id, name: link.label }, secret), linkId: link.id };
    },
  };
}

/**
 * An in-process server on 127.0.0.1 with a real SQLite file in `dataDir` (or its PostgreSQL
 * database under `DATABOOK_TEST_DATABASE=postgres`: see app-storage.ts), on `port` (default 0:
 * a free one; a fixed one when the settings must name the server's own URL, as OIDC's do).
 */
export async function startApp(dataDir: string, extra: Partial<AppOptions> = {}, port = 0) {
  const storage = await openTestStorage(dataDir);
  const a = await createApp({ ...storage.app, foreignWritePollMs: 50, ...extra });
  await a.app.listen({ host: "127.0.0.1", port });
  const bound = (a.app.server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${bound}`;
  const wsBase = `ws://127.0.0.1:${bound}/ws/notebooks`;
  const s = a.services;
  return {
    ...a,
    /** The SQLite connection (throws on PostgreSQL: see app-storage.ts). */
    db: storage.db,
    port: bound,
    url,
    wsBase,
    ...people(url, s),
    async stop() {
      await a.shutdown();
      await storage.close();
    },
  };
}

/** POSTs JSON and returns status + parsed body. */
export async function api(url: string, method: string, body?: unknown, headers: Record<string, string> = {}) {
  const r = await fetch(url, {
    method,
    headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: r.status, body: json };
}

/**
 * A real y-websocket client (yjs + y-websocket provider over `ws`) for one notebook, sending
 * `cookie` (a session) and `Origin` like the page does, and the protocol version.
 */
export function connectClient(wsBase: string, notebookId: string, cookie: string, doc = new Y.Doc()) {
  const origin = wsBase.replace(/^ws/, "http").replace(/\/ws\/.*$/, "");
  class SignedInSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols, { headers: { cookie, origin } });
    }
  }
  const provider = new WebsocketProvider(wsBase, notebookId, doc, {
    WebSocketPolyfill: SignedInSocket as never,
    params: { v: String(PROTOCOL_VERSION) },
    disableBc: true,
    maxBackoffTime: 200,
  });
  const docSynced = new Promise<void>((resolve) => {
    if (provider.synced) resolve();
    provider.on("sync", (s: boolean) => s && resolve());
  });
  const record = followRecord(provider);
  return {
    doc,
    provider,
    /** The doc is synced and the record's first snapshot is in: the page as a person first sees it. */
    synced: Promise.all([docSynced, record.snapshotted]).then(() => undefined),
    record,
    destroy: () => {
      provider.destroy();
      doc.destroy();
    },
  };
}

/**
 * What a page knows from the record channel: every run the server published, and the notebook's
 * state (y-websocket messages of type RECORD_MESSAGE, handled the way the web app handles them).
 */
export function followRecord(provider: WebsocketProvider) {
  const runs = new Map<string, RunRecord>();
  const messages: RecordMessage[] = [];
  let state: NotebookState | undefined;
  let incident: IncidentRecord | undefined;
  let review: ReviewMark[] = [];
  let refresh: RefreshState | undefined;
  let snapshotIn = () => {};
  const snapshotted = new Promise<void>((r) => (snapshotIn = r));
  (provider as unknown as { messageHandlers: unknown[] }).messageHandlers[RECORD_MESSAGE] = (
    _enc: unknown,
    dec: decoding.Decoder,
  ) => {
    const m = JSON.parse(decoding.readVarString(dec)) as RecordMessage;
    messages.push(m);
    if (m.t === "snapshot") {
      runs.clear();
      for (const r of m.runs) runs.set(r.id, r);
      state = m.state;
      incident = m.incident;
      review = m.review;
      refresh = m.refresh;
      snapshotIn();
    } else if (m.t === "run") runs.set(m.run.id, { ...runs.get(m.run.id), ...m.run });
    else if (m.t === "incident") incident = m.incident;
    else if (m.t === "review") review = m.review;
    else if (m.t === "refresh") refresh = m.refresh;
    else state = m.state;
  };
  return {
    runs,
    messages,
    /** Resolves when the first snapshot has arrived (the record is read asynchronously after the load). */
    snapshotted,
    get state() {
      return state;
    },
    /** The incident as the page knows it (undefined: not an incident). */
    get incident() {
      return incident;
    },
    /** The notebook's auto-refresh as the page knows it (undefined: off). */
    get refresh() {
      return refresh;
    },
    /** Cells marked "from runbook — review before running". */
    get review() {
      return review;
    },
    /** The latest run of a cell (by queue time), as the page shows it. */
    latest(cellId: string): RunRecord | undefined {
      let best: RunRecord | undefined;
      for (const r of runs.values()) if (r.cellId === cellId && (!best || r.queuedAtMs >= best.queuedAtMs)) best = r;
      return best;
    },
  };
}

/** Adds a cell (id, kind, source) at the end of a notebook doc the way the web app does (with an order key). */
export function addCell(doc: Y.Doc, id: string, source: string, kind = "query"): Y.Text {
  const cells = doc.getArray<Y.Map<unknown>>("cells");
  const last = cells
    .toArray()
    .map((c) => (c instanceof Y.Map ? c.get("order") : undefined))
    .filter((k): k is string => typeof k === "string")
    .sort()
    .at(-1);
  const m = new Y.Map<unknown>();
  const text = new Y.Text(source);
  m.set("id", id);
  m.set("kind", kind);
  m.set("source", text);
  m.set("order", orderBetween(last, undefined));
  cells.push([m]);
  return text;
}

/** The source Y.Text of cell `id` in `doc`, or undefined. */
export function cellText(doc: Y.Doc, id: string): Y.Text | undefined {
  for (const c of doc.getArray<Y.Map<unknown>>("cells")) if (c.get("id") === id) return c.get("source") as Y.Text;
  return undefined;
}

/** The latest run of cell `id` that a client saw on the record channel. */
export function cellRun(client: { record: ReturnType<typeof followRecord> }, id: string): any {
  return client.record.latest(id);
}

/**
 * `databook serve` as a child process on free ports with `dataDir` (and `env` on top of this
 * process's environment); resolves once it listens.
 */
export async function spawnServer(dataDir: string, extra: string[] = [], env: Record<string, string> = {}) {
  const { spawn } = await import("node:child_process");
  const bin = new URL("../bin/databook.js", import.meta.url).pathname;
  const proc = spawn(process.execPath, [bin, "serve", "--port", "0", "--grpc-port", "0", "--data", dataDir, ...extra], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let out = "";
  let err = "";
  proc.stderr.on("data", (d) => (err += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 30 s: ${err}`)), 30_000);
    proc.stdout.on("data", (d) => {
      out += d;
      const m = /running at (http:\/\/[^\s/]+)\//.exec(out);
      const g = /gRPC .* at (http:\/\/\S+)/.exec(out);
      if (m && g) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.on("exit", (code) => reject(new Error(`server exited with ${code}: ${err}`)));
  });
  const grpcUrl = /gRPC .* at (http:\/\/\S+)/.exec(out)![1]!;
  const exited = new Promise<number | null>((r) => proc.on("exit", (c) => r(c)));
  return {
    proc,
    url,
    grpcUrl,
    wsBase: `${url.replace("http", "ws")}/ws/notebooks`,
    output: () => out,
    errors: () => err,
    /** SIGTERM and wait; resolves with the exit code. */
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      return exited;
    },
    /** SIGKILL (kill -9) and wait. */
    async kill9() {
      proc.kill("SIGKILL");
      return exited;
    },
  };
}

/**
 * Adds a plugin folder `name` to a plugins directory, made from one of the plugin host's test
 * components (`hostile-wat` sleeps on input `S<ms>`, as a slow query would; `echo-wat` echoes).
 */
export async function addFixturePlugin(pluginsDir: string, name: string, fixture: string, limits = ""): Promise<void> {
  const { buildFixtures } = await import("@databook/plugin-host/test-fixtures");
  const built = await buildFixtures(() => {});
  mkdirSync(join(pluginsDir, name));
  copyFileSync(built[fixture]!, join(pluginsDir, name, "plugin.wasm"));
  writeFileSync(
    join(pluginsDir, name, "config.toml"),
    `name = "${name}"\ndescription = "Test plugin ${name}."\nversion = "0.0.1"\n[limits]\n${limits}\n`,
  );
}

/**
 * A plugins directory holding copies of the repository's built plugins `names` (config.toml +
 * plugin.wasm); throws a clear error when one is not built yet.
 */
export function pluginsDirWith(names: string[]): { dir: string; cleanup: () => void } {
  const t = tempDir("databook-plugins-");
  const repo = new URL("../../../plugins/", import.meta.url).pathname;
  for (const n of names) {
    const src = join(repo, n);
    if (!existsSync(join(src, "plugin.wasm")))
      throw new Error(
        `plugins/${n}/plugin.wasm is missing: build it first (npx turbo run build --filter=./plugins/${n})`,
      );
    mkdirSync(join(t.dir, n));
    for (const f of ["config.toml", "plugin.wasm"]) copyFileSync(join(src, f), join(t.dir, n, f));
  }
  return t;
}

/**
 * Adds the plugin built before the contract had capabilities (plugin-host/test/frozen, kept byte
 * for byte, gzip-compressed) to a plugins directory as `frozen`: the server must list and run it.
 */
export function addFrozenPlugin(pluginsDir: string): void {
  const src = new URL("../../../plugin-host/test/frozen/sdk-0.1-plugin/", import.meta.url).pathname;
  mkdirSync(join(pluginsDir, "frozen"));
  copyFileSync(join(src, "config.toml"), join(pluginsDir, "frozen", "config.toml"));
  writeFileSync(join(pluginsDir, "frozen", "plugin.wasm"), gunzipSync(readFileSync(join(src, "plugin.wasm.gz"))));
}

/** Opens a raw WebSocket (no Yjs client) with `headers`; resolves with its close code and reason. */
export function rawSocket(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, { headers });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const opened = new Promise<void>((resolve, reject) => {
    ws.on("open", () => resolve());
    ws.on("error", reject);
  });
  // an upgrade refused with an HTTP status: its code, so a test can assert it
  const refused = new Promise<number>((resolve) =>
    ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0)),
  );
  ws.on("error", () => {});
  return { ws, closed, opened, refused };
}

/** The Markdown postmortem of a notebook of an in-process server, as `GET …/export.md` answers it. */
export async function exportMarkdown(s: Services, notebookId: string): Promise<string> {
  const files = await makeExport(exportSources(s), notebookId, { format: "md", nowMs: s.now() });
  if (!files) throw new Error(`notebook ${notebookId} has no log entries`);
  return files[0]!.text;
}
