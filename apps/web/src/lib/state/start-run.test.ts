import assert from "node:assert/strict";
import { test } from "node:test";
import type { CellPreview } from "../api/types.ts";
import type { Ask } from "./confirm.svelte.ts";
import { actionQuestion, startRun } from "./start-run.ts";

const plugins = () => [
  {
    name: "alertmanager",
    description: "",
    version: "1",
    contentTypes: [],
    options: [{ name: "action", description: "`silence` creates a silence", action: true }],
  },
];

const preview = (source: string, over: Partial<CellPreview> = {}): CellPreview => ({
  source,
  sourceHash: `hash-of-${source}`,
  plugin: "alertmanager",
  action: true,
  actionOptions: ["action"],
  preview: { ok: true, summary: "Creates a silence of 30m", details: [["Matchers", 'alertname="X"']], warnings: [] },
  ...over,
});

/** Deps where the server's cell source can change between preview and run. */
function server(sources: string[], answers: boolean[]) {
  const asked: Ask[] = [];
  const runs: (string | undefined)[] = [];
  let current = 0;
  return {
    asked,
    runs,
    deps: {
      plugins,
      askWith: async (q: Ask) => {
        asked.push(q);
        const a = answers.shift() ?? false;
        // a co-editor edits the cell while the first dialog is open
        if (asked.length === 1 && sources.length > 1) current = 1;
        return a;
      },
      previewCell: async () => preview(sources[current] as string),
      runCell: async (_n: string, _c: string, hash?: string) => {
        runs.push(hash);
        const want = `hash-of-${sources[current]}`;
        if (hash === undefined) throw Object.assign(new Error("an action needs a confirmed preview"), { status: 428 });
        if (hash !== want)
          throw Object.assign(new Error("cell c changed after you confirmed it (someone edited it meanwhile)"), {
            status: 409,
          });
        return { runId: "r1" };
      },
    },
  };
}

test("an action is previewed and runs with the hash of the source the person saw", async () => {
  const s = server(["@plugin=alertmanager @action=silence\nx"], [true]);
  assert.deepEqual(await startRun(s.deps, "nb", "c", true), { runId: "r1" });
  assert.deepEqual(s.runs, ["hash-of-@plugin=alertmanager @action=silence\nx"]);
  assert.equal(s.asked[0]?.source, "@plugin=alertmanager @action=silence\nx");
  assert.deepEqual(s.asked[0]?.details?.[0], ["What it does", "Creates a silence of 30m"]);
});

test("cancelling the dialog runs nothing", async () => {
  const s = server(["a"], [false]);
  assert.equal(await startRun(s.deps, "nb", "c", true), undefined);
  assert.deepEqual(s.runs, []);
});

test("a 428 for a cell the page did not see as an action falls back to the preview", async () => {
  const s = server(["a"], [true]);
  assert.deepEqual(await startRun(s.deps, "nb", "c", false), { runId: "r1" });
  assert.deepEqual(s.runs, [undefined, "hash-of-a"]);
});

test("an edit between preview and run runs nothing and shows the new source, saying it changed", async () => {
  const s = server(["old", "new"], [true, true]);
  assert.deepEqual(await startRun(s.deps, "nb", "c", true), { runId: "r1" });
  assert.deepEqual(s.runs, ["hash-of-old", "hash-of-new"]);
  assert.equal(s.asked[1]?.source, "new");
  assert.match(s.asked[1]?.body ?? "", /edited this cell after you saw it/);
});

test("other refusals reach the caller", async () => {
  const deps = {
    ...server(["a"], [true]).deps,
    runCell: async () => {
      throw Object.assign(new Error("archived"), { status: 409 });
    },
  };
  await assert.rejects(startRun(deps, "nb", "c", true), /archived/);
});

test("a preview that fails says why and offers to run anyway; no preview lists the action options", () => {
  const failed = actionQuestion(
    preview("a", { preview: { ok: false, error: { kind: "bad-input", message: "a silence needs a reason" } } }),
    plugins(),
  );
  assert.equal(failed.problem, "It would fail: a silence needs a reason");
  assert.equal(failed.confirmLabel, "Run anyway");
  const none = actionQuestion(preview("a", { preview: null }), plugins());
  assert.deepEqual(none.details, [["@action", "`silence` creates a silence"]]);
});
