import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseRecordNote } from "../src/cluster/record-note.ts";

// A record note arrives from Redis, which any process that reaches it can write to: only the two
// shapes a node sends get through, rebuilt from their checked fields.

const state = {
  intervalMs: 60_000,
  by: { kind: "user", id: "u1", name: "ana" },
  startedAtMs: 1,
  untilMs: 2,
  rounds: 0,
};

describe("record notes from the bus", () => {
  it("passes a node's progress and refresh notes through", () => {
    assert.deepEqual(parseRecordNote({ progress: { runId: "r1", status: "queued", ahead: 2 } }), {
      progress: { runId: "r1", status: "queued", ahead: 2 },
    });
    assert.deepEqual(parseRecordNote({ progress: { runId: "r1", status: "running", startedAtMs: 5 } }), {
      progress: { runId: "r1", status: "running", startedAtMs: 5, ahead: undefined },
    });
    assert.deepEqual(parseRecordNote({ refresh: { state } }), { refresh: { state } });
    assert.deepEqual(parseRecordNote({ refresh: { stopped: "idle" } }), { refresh: { stopped: "idle" } });
  });

  it("drops fields a node never sends (a forged output, a status)", () => {
    const n = parseRecordNote({
      progress: { runId: "r1", status: "running", startedAtMs: 5, output: "<script>", outputHash: "x" },
    });
    assert.deepEqual(n, { progress: { runId: "r1", status: "running", startedAtMs: 5, ahead: undefined } });
    const r = parseRecordNote({ refresh: { state: { ...state, by: { ...state.by, admin: true }, extra: 1 } } });
    assert.deepEqual(r, { refresh: { state } });
  });

  it("refuses a final status, a bad interval, a bad principal, two notes in one and non-objects", () => {
    for (const [v, why] of [
      [{ progress: { runId: "r1", status: "done" } }, /neither queued nor running/],
      [{ progress: { runId: "", status: "queued" } }, /runId/],
      [{ progress: { runId: "r1", status: "queued", ahead: -1 } }, /ahead/],
      [{ progress: { runId: "r1", status: "running" } }, /startedAtMs/],
      [{ refresh: { state: { ...state, intervalMs: 1 } } }, /intervalMs/],
      [{ refresh: { state: { ...state, by: { kind: "root", id: "x", name: "x" } } } }, /principal/],
      [{ refresh: { stopped: "because" } }, /stop reason/],
      [{ progress: { runId: "r1", status: "queued" }, refresh: {} }, /exactly one/],
      [{ snapshot: {} }, /exactly one/],
      [[1], /not an object/],
      [null, /not an object/],
    ] as const)
      assert.match(String(parseRecordNote(v)), why);
  });
});
