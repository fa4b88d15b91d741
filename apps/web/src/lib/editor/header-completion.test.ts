import assert from "node:assert/strict";
import { test } from "node:test";
import { CompletionContext, type CompletionResult } from "@codemirror/autocomplete";
import { EditorState } from "@codemirror/state";
import type { PluginInfo } from "../api.ts";
import { headerCompletion } from "./cell-editor.ts";

const plugins: PluginInfo[] = [
  { name: "prometheus", description: "PromQL", version: "0.1.0", options: [], contentTypes: [] },
  {
    name: "alertmanager",
    description: "Alerts",
    version: "0.1.0",
    options: [{ name: "action", description: "creates a silence", action: true }],
    contentTypes: [],
  },
];

function complete(doc: string, pos = doc.length): CompletionResult | null {
  const state = EditorState.create({ doc });
  return headerCompletion(() => plugins)(new CompletionContext(state, pos, true)) as CompletionResult | null;
}

test("after @plugin= the server's plugins are offered", () => {
  const r = complete("@plugin=al");
  assert.equal(r?.from, 8);
  assert.deepEqual(
    r?.options.map((o) => o.label),
    ["prometheus", "alertmanager"],
  );
});

test("after @ the reserved keys and the plugin's own options are offered, actions marked", () => {
  const r = complete("@plugin=alertmanager @");
  const labels = r?.options.map((o) => o.label) ?? [];
  for (const k of ["plugin", "range", "start", "end", "step", "unit", "legend", "autorun", "action"])
    assert.ok(labels.includes(k), k);
  assert.equal(r?.options.find((o) => o.label === "action")?.detail, "action (asks first)");
  assert.equal(r?.options.find((o) => o.label === "range")?.apply, "range=");
});

test("after @unit= the chart units are offered, with their aliases", () => {
  const r = complete("@plugin=prometheus @unit=by");
  assert.equal(r?.from, 25);
  const labels = r?.options.map((o) => o.label) ?? [];
  for (const u of ["bytes", "decbytes", "seconds", "percent", "percentunit", "reqps"]) assert.ok(labels.includes(u), u);
  assert.equal(r?.options.find((o) => o.label === "bytes/s")?.detail, "Bps");
  assert.equal(
    r?.options.find((o) => o.label === "unit"),
    undefined,
    "values, not keys",
  );
  assert.equal(complete("@plugin=prometheus\nsum(x) @unit=by"), null, "not below the header");
  assert.equal(complete("@plugin=prometheus\n@unit=by")?.from, 25, "on a second header line too");
});

test("nothing is offered below the header", () => {
  assert.equal(complete("@plugin=prometheus\nsum(@"), null);
  assert.equal(complete("# notes\n@plugin="), null);
});

test("a whole plugin name closes the list, so Enter after @plugin=prometheus starts the next line", () => {
  assert.equal(complete("@plugin=prometheus"), null);
  const partial = complete("@plugin=prom");
  assert.ok(partial, "a partial name is still completed");
  const validFor = partial.validFor as (text: string, from: number, to: number, state: EditorState) => boolean;
  const state = EditorState.create({ doc: "@plugin=prometheus" });
  assert.equal(validFor("promet", 8, 14, state), true);
  assert.equal(validFor("prometheus", 8, 18, state), false);
});
