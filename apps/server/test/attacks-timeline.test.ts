import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Principal } from "@databook/wire";
import { api, type Caller, startApp, tempDir } from "./helpers.ts";

// Hostile callers against the timeline's writes (notes, pins, corrections, un-pins): each attack
// is refused with its status, and neither the attacked notebook's log nor any other's grows.

const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);
const now = T0;
let s: Awaited<ReturnType<typeof startApp>>;
let ana: Caller; // owner of A
let bob: Caller; // owner of B, stranger to A
let vic: Caller; // viewer of A
const cleanups: (() => unknown)[] = [];

before(async () => {
  const t = tempDir();
  cleanups.push(t.cleanup);
  s = await startApp(t.dir, { nowMs: () => now });
  cleanups.push(() => s.stop());
  ana = await s.user("ana");
  bob = await s.user("bob");
  vic = await s.user("vic");
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function notebook(owner: Caller, title: string): Promise<string> {
  const r = await owner.api("/api/notebooks", "POST", { title, visibility: "restricted" });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id as string;
}

let runCounter = 0;
/** A finished run of cell `c` in `nb`, logged as the run service logs it. */
function run(nb: string, who: Principal): string {
  const runId = `attack-run-${++runCounter}`;
  s.services.appendLog({
    notebookId: nb,
    type: "run.started",
    atMs: now,
    actor: who,
    cellId: "c",
    runId,
    data: {
      plugin: "echo",
      source: "@plugin=echo\nx",
      input: "x",
      options: [],
      action: false,
      actionOptions: [],
      trigger: { kind: "user" },
    },
  });
  return runId;
}

const note = { eventAtMs: T0 - 60_000, label: "detected", text: "5xx up" };
const logSizes = (...ids: string[]) => ids.map((id) => s.log.entries(id).length);

/** Two notebooks: A (ana owns, vic views) and B (bob owns), each with a note, a run and a pin. */
async function twoNotebooks() {
  const a = await notebook(ana, "A");
  const b = await notebook(bob, "B");
  await s.grant(a, vic, "viewer");
  const runA = run(a, ana.principal);
  const runB = run(b, bob.principal);
  const noteA = await ana.api(`/api/notebooks/${a}/timeline/notes`, "POST", note);
  const noteB = await bob.api(`/api/notebooks/${b}/timeline/notes`, "POST", note);
  const pinB = await bob.api(`/api/notebooks/${b}/timeline/pins`, "POST", { runId: runB, label: "mitigated" });
  assert.deepEqual([noteA.status, noteB.status, pinB.status], [201, 201, 201]);
  return { a, b, runA, runB, noteA: noteA.body.seq as number, noteB: noteB.body.seq as number, pinB: pinB.body.seq };
}

describe("timeline writes under attack", () => {
  it("an editor of A cannot reach B's entries or runs through A's URL", async () => {
    const { a, b, runB, noteA, noteB, pinB } = await twoNotebooks();
    // seq numbers are per notebook: give B entries whose numbers A does not have
    for (let i = 0; i < 5; i++) await bob.api(`/api/notebooks/${b}/timeline/notes`, "POST", note);
    const lastB = s.log.entries(b).at(-1)!.seq;
    const seqsA = new Set(s.log.entries(a).map((e) => e.seq));
    const foreign = [lastB, ...[noteB, pinB].filter((q) => !seqsA.has(q))];
    assert.ok(!seqsA.has(lastB), "B has entries whose seq A does not have");
    const before = logSizes(a, b);
    for (const q of foreign) {
      const c = await ana.api(`/api/notebooks/${a}/timeline/entries/${q}/corrections`, "POST", { text: "rewritten" });
      assert.equal(c.status, 404, JSON.stringify(c.body));
      const u = await ana.api(`/api/notebooks/${a}/timeline/entries/${q}/unpin`, "POST", {});
      assert.equal(u.status, 404);
    }
    const pin = await ana.api(`/api/notebooks/${a}/timeline/pins`, "POST", { runId: runB, label: "resolved" });
    assert.equal(pin.status, 404);
    assert.match(pin.body.error.message, /not a run of this notebook/);
    // and straight at B: ana is nobody there, told the same as for a notebook that does not exist
    const direct = await ana.api(`/api/notebooks/${b}/timeline/entries/${noteB}/corrections`, "POST", { text: "x" });
    assert.equal(direct.status, 404);
    const pinDirect = await ana.api(`/api/notebooks/${b}/timeline/pins`, "POST", { runId: runB, label: "x" });
    assert.equal(pinDirect.status, 404);
    assert.deepEqual(logSizes(a, b), before, "nothing logged in either notebook");
    // a seq both notebooks have names A's own entry through A's URL, never B's
    assert.ok(
      s.log.entries(b).some((e) => e.seq === noteA),
      "B has an entry with the same seq",
    );
    const shared = await ana.api(`/api/notebooks/${a}/timeline/entries/${noteA}/corrections`, "POST", {
      text: "ours",
    });
    assert.equal(shared.status, 201);
    const ownA = s.log.entries(a).find((e) => e.seq === noteA)!;
    assert.deepEqual(s.log.entries(a).at(-1)!.data.target, { seq: ownA.seq, hash: ownA.hash });
    assert.equal(s.log.entries(b).length, before[1], "B untouched");
  });

  it("seq values that are not entry numbers are refused with 400", async () => {
    const { a, noteA } = await twoNotebooks();
    const before = logSizes(a);
    const odd = [
      "abc",
      "0",
      "-1",
      "1.5",
      "1e3",
      "0x10",
      `0${noteA}`,
      `%20${noteA}`,
      "99999999999999999999",
      "9007199254740993",
      "NaN",
      "Infinity",
    ];
    for (const q of odd) {
      const c = await ana.api(`/api/notebooks/${a}/timeline/entries/${q}/corrections`, "POST", { text: "x" });
      assert.equal(c.status, 400, `${q}: ${JSON.stringify(c.body)}`);
      assert.match(c.body.error.message, /is not an entry number/);
      const u = await ana.api(`/api/notebooks/${a}/timeline/entries/${q}/unpin`, "POST", {});
      assert.equal(u.status, 400, q);
    }
    // a whole number that is no entry of this notebook
    const far = await ana.api(`/api/notebooks/${a}/timeline/entries/999999/corrections`, "POST", { text: "x" });
    assert.equal(far.status, 404);
    assert.deepEqual(logSizes(a), before);
  });

  it("only notes and key events can be corrected: not a correction, an un-pin, a run or the notebook's creation", async () => {
    const { a, runA, noteA } = await twoNotebooks();
    const pin = await ana.api(`/api/notebooks/${a}/timeline/pins`, "POST", { runId: runA, label: "detected" });
    const fix = await ana.api(`/api/notebooks/${a}/timeline/entries/${noteA}/corrections`, "POST", { text: "b" });
    const unpin = await ana.api(`/api/notebooks/${a}/timeline/entries/${pin.body.seq}/unpin`, "POST", {});
    assert.deepEqual([pin.status, fix.status, unpin.status], [201, 201, 201]);
    const before = logSizes(a);
    const runEntry = s.log.entries(a).find((e) => e.runId === runA && e.type === "run.started")!.seq;
    const created = s.log.entries(a)[0]!.seq;
    for (const q of [fix.body.seq, unpin.body.seq, runEntry, created]) {
      const c = await ana.api(`/api/notebooks/${a}/timeline/entries/${q}/corrections`, "POST", { text: "lie" });
      assert.equal(c.status, 409, `${q}: ${JSON.stringify(c.body)}`);
      assert.match(c.body.error.message, /only notes and key events can be corrected/);
    }
    // un-pinning anything but a key event, or a key event twice
    for (const q of [noteA, fix.body.seq, pin.body.seq]) {
      const u = await ana.api(`/api/notebooks/${a}/timeline/entries/${q}/unpin`, "POST", {});
      assert.equal(u.status, 409, `${q}: ${JSON.stringify(u.body)}`);
    }
    assert.deepEqual(logSizes(a), before);
  });

  it("huge and odd bodies are refused", async () => {
    const { a, runA, noteA } = await twoNotebooks();
    const before = logSizes(a);
    const base = `/api/notebooks/${a}/timeline`;
    const bad: [string, unknown, number][] = [
      [`${base}/notes`, { ...note, text: "x".repeat(501) }, 400],
      [`${base}/notes`, { ...note, label: "l".repeat(41) }, 400],
      [`${base}/notes`, { ...note, text: "line\nbreak" }, 400],
      [`${base}/notes`, { ...note, text: "evil\u202Etxt.exe" }, 400],
      [`${base}/notes`, { ...note, text: "   " }, 400],
      [`${base}/notes`, { ...note, text: ["a"] }, 400],
      [`${base}/notes`, { ...note, eventAtMs: String(note.eventAtMs) }, 400],
      [`${base}/notes`, { ...note, eventAtMs: (T0 - 60_000) / 1000 }, 400],
      [`${base}/notes`, { ...note, eventAtMs: T0 + 60 * 60_000 }, 400],
      [`${base}/notes`, { ...note, eventAtMs: 1.5e12 + 0.5 }, 400],
      [`${base}/notes`, { ...note, user: "someone else" }, 400],
      [`${base}/pins`, { runId: { $ne: "" }, label: "x" }, 400],
      [`${base}/pins`, { runId: "", label: "x" }, 400],
      [`${base}/pins`, { runId: runA, label: "x", eventAtMs: -1 }, 400],
      [`${base}/entries/${noteA}/corrections`, {}, 400],
      [`${base}/entries/${noteA}/corrections`, { text: null, label: null }, 400],
      [`${base}/entries/${noteA}/corrections`, { text: "" }, 400],
    ];
    for (const [path, body, status] of bad) {
      const r = await ana.api(path, "POST", body);
      assert.equal(r.status, status, `${path} ${JSON.stringify(body).slice(0, 80)}: ${JSON.stringify(r.body)}`);
    }
    // not JSON objects, and a body over the server's limit
    const raw = async (body: string, type = "application/json") =>
      (
        await fetch(`${s.url}${base}/notes`, {
          method: "POST",
          headers: { ...ana.headers, "content-type": type },
          body,
        })
      ).status;
    assert.equal(await raw("[1,2]"), 400);
    assert.equal(await raw("null"), 400);
    assert.equal(await raw('"text"'), 400);
    assert.equal(await raw('{"__proto__": {"admin": true}, "label": "x"}'), 400);
    assert.equal(await raw(JSON.stringify(note), "text/plain"), 415);
    assert.equal(await raw(JSON.stringify({ ...note, text: "x".repeat(2 * 1024 * 1024) })), 400, "2 MiB of text");
    assert.equal(await raw(JSON.stringify({ ...note, text: "x".repeat(5 * 1024 * 1024) })), 413, "over 4 MiB");
    assert.deepEqual(logSizes(a), before);
  });

  it("an archived notebook takes no note, pin, correction or un-pin, even from its owner", async () => {
    const { a, runA, noteA } = await twoNotebooks();
    const pin = await ana.api(`/api/notebooks/${a}/timeline/pins`, "POST", { runId: runA, label: "detected" });
    assert.equal((await ana.api(`/api/notebooks/${a}/archive`, "POST", {})).status, 200);
    const before = logSizes(a);
    const base = `/api/notebooks/${a}/timeline`;
    for (const [path, body] of [
      [`${base}/notes`, note],
      [`${base}/pins`, { runId: runA, label: "again" }],
      [`${base}/entries/${noteA}/corrections`, { text: "after the fact" }],
      [`${base}/entries/${pin.body.seq}/unpin`, {}],
    ] as const) {
      const r = await ana.api(path, "POST", body);
      assert.equal(r.status, 409, `${path}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.error.message, /archived/);
    }
    assert.deepEqual(logSizes(a), before);
  });

  it("viewers, share links, strangers and tokens without the run scope (or an editor owner) write nothing", async () => {
    const { a, runA, noteA } = await twoNotebooks();
    const link = await s.stakeholder(a);
    const token = async (owner: Caller, scopes: string[]) =>
      `Bearer ${(await s.services.tokens.create({ ownerId: owner.id!, name: `t-${scopes.join("-")}`, scopes })).secret}`;
    const base = `/api/notebooks/${a}/timeline`;
    const writes: [string, unknown][] = [
      [`${base}/notes`, note],
      [`${base}/pins`, { runId: runA, label: "x" }],
      [`${base}/entries/${noteA}/corrections`, { text: "x" }],
      [`${base}/entries/${noteA}/unpin`, {}],
    ];
    const before = logSizes(a);
    const callers: [string, (p: string, b: unknown) => ReturnType<typeof api>, number][] = [
      ["viewer", (p, b) => vic.api(p, "POST", b), 403],
      ["share link", (p, b) => link.api(p, "POST", b), 403],
      ["stranger", (p, b) => api(`${s.url}${p}`, "POST", b, { origin: s.url }), 401],
      ["other notebook's owner", (p, b) => bob.api(p, "POST", b), 404],
      [
        "read token",
        async (p, b) => api(`${s.url}${p}`, "POST", b, { authorization: await token(ana, ["read"]) }),
        403,
      ],
      [
        "alerts token",
        async (p, b) => api(`${s.url}${p}`, "POST", b, { authorization: await token(ana, ["alerts:ingest"]) }),
        403,
      ],
      [
        "viewer's run token",
        async (p, b) => api(`${s.url}${p}`, "POST", b, { authorization: await token(vic, ["read", "run"]) }),
        403,
      ],
      [
        "forged session",
        (p, b) => api(`${s.url}${p}`, "POST", b, { cookie: "databook_session=forged", origin: s.url }),
        401,
      ],
      ["cookie without Origin", (p, b) => api(`${s.url}${p}`, "POST", b, { cookie: ana.headers.cookie! }), 403],
      [
        "cookie from another site",
        (p, b) => api(`${s.url}${p}`, "POST", b, { cookie: ana.headers.cookie!, origin: "https://evil.example" }),
        403,
      ],
    ];
    for (const [who, call, status] of callers)
      for (const [path, body] of writes) {
        const r = await call(path, body);
        assert.equal(r.status, status, `${who} ${path}: ${JSON.stringify(r.body)}`);
      }
    assert.deepEqual(logSizes(a), before, "nothing logged");
    // the same token with run, owned by the notebook's owner, may write: the refusals above were the scope's
    const ok = await api(`${s.url}${base}/notes`, "POST", note, { authorization: await token(ana, ["run"]) });
    assert.equal(ok.status, 201);
  });
});

describe("timeline write budget", () => {
  it("an editor's script cannot grow the log at will: the 61st write in a minute is refused, refusals cost nothing", async () => {
    const { TIMELINE_WRITE_LIMIT } = await import("../src/routes/timeline.ts");
    const spammer = await s.user("spam");
    const other = await s.user("calm");
    const id = await notebook(spammer, "spam");
    await s.grant(id, other, "editor");
    const path = `/api/notebooks/${id}/timeline/notes`;
    // refused requests (bad input) do not use up the budget
    for (let i = 0; i < 5; i++) assert.equal((await spammer.api(path, "POST", { text: "" })).status, 400);
    const before = s.log.entries(id).length;
    for (let i = 0; i < TIMELINE_WRITE_LIMIT.max; i++)
      assert.equal((await spammer.api(path, "POST", { ...note, text: `note ${i}` })).status, 201);
    const res = await fetch(`${s.url}${path}`, {
      method: "POST",
      headers: { ...spammer.headers, "content-type": "application/json" },
      body: JSON.stringify({ ...note, text: "one too many" }),
    });
    const over = { status: res.status, body: await res.json() };
    assert.equal(over.status, 429, JSON.stringify(over.body));
    assert.match(res.headers.get("retry-after") ?? "", /^\d+$/);
    assert.match(
      over.body.error.message,
      /more than 60 timeline notes, pins and corrections a minute; try again in \d+ s/,
    );
    assert.equal(s.log.entries(id).length, before + TIMELINE_WRITE_LIMIT.max, "the refused note is not in the log");
    // the budget is the principal's: another editor of the same notebook still writes
    assert.equal((await other.api(path, "POST", note)).status, 201);
  });
});
