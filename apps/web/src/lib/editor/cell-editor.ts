/**
 * The CodeMirror 6 editor of one cell, bound to the cell's Y.Text with y-codemirror.next (remote
 * cursors with name labels, per-user undo). Header lines (`@key=value`) are styled apart and
 * complete from the server's plugin list; a prometheus cell gets PromQL highlighting and completion
 * from @prometheus-io/codemirror-promql: functions and keywords, and for editors metric names,
 * label names and values from the cell's Prometheus through the server (prom-completion.ts).
 */
import {
  autocompletion,
  CompletionContext,
  type CompletionResult,
  closeBrackets,
  closeBracketsKeymap,
  closeCompletion,
  completionKeymap,
  startCompletion,
} from "@codemirror/autocomplete";
import { defaultKeymap, indentWithTab } from "@codemirror/commands";
import { bracketMatching, HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { Compartment, EditorState, type Extension, Prec, RangeSetBuilder } from "@codemirror/state";
import {
  Decoration,
  type DecorationSet,
  drawSelection,
  EditorView,
  keymap,
  placeholder,
  ViewPlugin,
  type ViewUpdate,
} from "@codemirror/view";
import { RESERVED_KEYS } from "@databook/cell-syntax";
// The unit list only: the rest of chart-config loads with the first chart.
import { UNITS } from "@databook/chart-config/units";
import { tags } from "@lezer/highlight";
import type { PromQLExtension } from "@prometheus-io/codemirror-promql";
import { yCollab, yUndoManagerKeymap } from "y-codemirror.next";
import type { Awareness } from "y-protocols/awareness";
import * as Y from "yjs";
import type { PluginInfo } from "../api.ts";
import { PEER_ACTIVE_CLASS, peerNameFlash } from "./peer-names.ts";
import type { CompleteFn } from "./prom-completion.ts";

/**
 * After a run is asked for: `next` moves to the next cell (Shift+Enter), `stay` keeps the cursor
 * (Ctrl/Cmd+Enter), `insert` adds a cell below and moves there (Alt+Enter).
 */
export type RunMode = "next" | "stay" | "insert";

/** What the editor needs. */
export type CellEditorOptions = {
  text: Y.Text;
  awareness: Awareness;
  readOnly: boolean;
  plugins: () => PluginInfo[];
  onRun?: (mode: RunMode) => void;
  onEscape?: () => void;
  onBlur?: () => void;
  onFocus?: () => void;
  placeholderText?: string;
  /** Asks the server for names from the cell's Prometheus (editors only); unset: functions and keywords only. */
  complete?: CompleteFn;
  /** Calls `load` when the page may load PromQL's language (Startup.whenSettled); at once when unset. */
  later?: (load: () => void) => void;
};

/** The editor and a way to switch its language when the cell's `@plugin` changes. */
export type CellEditor = {
  view: EditorView;
  setPlugin: (plugin: string | undefined) => void;
  /** Focuses the editor with the cursor at the end of the text (where a new cell's input goes). */
  focusEnd: () => void;
  destroy: () => void;
};

const RESERVED_HELP: Record<string, string> = {
  plugin: "which plugin runs this cell",
  range: "time range ending at @end or now, e.g. 1h",
  start: "range start: RFC 3339, ms since epoch, or now-1h",
  end: "range end: RFC 3339, ms since epoch, or now",
  step: "resolution of the range, e.g. 30s",
  unit: "the chart's unit, e.g. bytes, seconds, percent (inferred from the metric name when unset)",
  legend: 'legend template, e.g. "{{code}} on {{instance}}" (a missing label is empty)',
  autorun: "true: in a runbook, run this query when an incident is made from it (action cells never autorun)",
};

/** True when every line from the first to `lineNo` (1-based) is a header line. */
export function inHeader(state: EditorState, lineNo: number): boolean {
  for (let n = 1; n <= lineNo; n++) if (!state.doc.line(n).text.trimStart().startsWith("@")) return false;
  return true;
}

/**
 * Completion for header lines: after `@plugin=` the plugin names; after `@unit=` the chart units
 * (docs/charts.md); after `@` the reserved keys and the named plugin's options. Returns null
 * outside the header.
 */
export function headerCompletion(plugins: () => PluginInfo[]) {
  return (ctx: CompletionContext): CompletionResult | null => {
    const line = ctx.state.doc.lineAt(ctx.pos);
    if (!inHeader(ctx.state, line.number)) return null;
    const before = line.text.slice(0, ctx.pos - line.from);
    const value = /(?:^|\s)@plugin=([\w.-]*)$/.exec(before);
    if (value) {
      const typed = value[1] ?? "";
      // Once a whole plugin name is typed the list goes away, so Enter starts the next line
      // instead of "accepting" the name that is already there (what a newcomer types first).
      const names = plugins().map((p) => p.name);
      if (names.includes(typed)) return null;
      return {
        from: ctx.pos - typed.length,
        options: plugins().map((p) => ({ label: p.name, type: "class", detail: p.version, info: p.description })),
        validFor: (text) => /^[\w.-]*$/.test(text) && !names.includes(text),
      };
    }
    const unitValue = /(?:^|\s)@unit=([^\s"]*)$/.exec(before);
    if (unitValue) {
      const typed = unitValue[1] ?? "";
      return {
        from: ctx.pos - typed.length,
        options: UNITS.map((u) => ({
          label: u.id,
          type: "constant",
          detail: u.aliases.length ? u.aliases.join(", ") : undefined,
          info: u.description,
        })),
        validFor: /^[^\s"]*$/,
      };
    }
    const key = /(?:^|\s)@([\w.-]*)$/.exec(before);
    if (!key) return null;
    const typed = key[1] ?? "";
    const header = ctx.state.doc.sliceString(0, line.to);
    const pluginName = /(?:^|\s)@plugin=([\w.-]+)/.exec(header)?.[1];
    const plugin = plugins().find((p) => p.name === pluginName);
    const options = [
      ...RESERVED_KEYS.map((k) => ({ label: k, apply: `${k}=`, type: "keyword", info: RESERVED_HELP[k] })),
      ...(plugin?.options ?? []).map((o) => ({
        label: o.name,
        apply: `${o.name}=`,
        type: "property",
        detail: o.action ? "action (asks first)" : undefined,
        info: o.description,
      })),
    ];
    return { from: ctx.pos - typed.length, options, validFor: /^[\w.-]*$/ };
  };
}

/**
 * Opens the plugin or unit list right after `@plugin=` or `@unit=` is typed (or completed): "="
 * is not a word character, so completion would not start by itself there.
 */
const completeAfterPluginKey = EditorView.updateListener.of((u) => {
  if (!u.docChanged || !u.transactions.some((t) => t.isUserEvent("input"))) return;
  const head = u.state.selection.main.head;
  const line = u.state.doc.lineAt(head);
  const before = line.text.slice(0, head - line.from);
  if (/(?:^|\s)@(plugin|unit)=$/.test(before) && inHeader(u.state, line.number))
    queueMicrotask(() => startCompletion(u.view));
});

const headerLine = Decoration.line({ class: "cm-db-header" });
const headerKey = Decoration.mark({ class: "cm-db-key" });

/** Styles the header block: a tinted band, keys in the accent colour. */
const headerDecorations = ViewPlugin.fromClass(
  class {
    decorations: DecorationSet;
    constructor(view: EditorView) {
      this.decorations = this.build(view);
    }
    update(u: ViewUpdate) {
      if (u.docChanged) this.decorations = this.build(u.view);
    }
    build(view: EditorView): DecorationSet {
      const b = new RangeSetBuilder<Decoration>();
      const doc = view.state.doc;
      for (let n = 1; n <= doc.lines; n++) {
        const line = doc.line(n);
        if (!line.text.trimStart().startsWith("@")) break;
        b.add(line.from, line.from, headerLine);
        const re = /(^|\s)(@[\w.-]+=)/g;
        for (let m = re.exec(line.text); m; m = re.exec(line.text)) {
          const from = line.from + m.index + (m[1]?.length ?? 0);
          b.add(from, from + (m[2]?.length ?? 0), headerKey);
        }
      }
      return b.finish();
    }
  },
  { decorations: (v) => v.decorations },
);

/** Colours from CSS variables, so the editor follows the page theme without rebuilding. */
const highlight = HighlightStyle.define([
  { tag: [tags.keyword, tags.operatorKeyword, tags.modifier], color: "var(--hl-keyword)" },
  { tag: [tags.function(tags.variableName)], color: "var(--hl-function)" },
  { tag: [tags.string], color: "var(--hl-string)" },
  { tag: [tags.number], color: "var(--hl-number)" },
  { tag: [tags.labelName], color: "var(--hl-label)" },
  { tag: [tags.comment], color: "var(--muted)", fontStyle: "italic" },
  { tag: [tags.operator, tags.logicOperator, tags.arithmeticOperator], color: "var(--hl-operator)" },
  { tag: [tags.invalid], color: "var(--danger)" },
]);

const theme = EditorView.theme({
  "&": { backgroundColor: "var(--code-bg)", color: "var(--text)", borderRadius: "var(--radius)", fontSize: "13px" },
  "&.cm-focused": { outline: "2px solid var(--accent)", outlineOffset: "0" },
  ".cm-scroller": { fontFamily: "var(--font-mono)", lineHeight: "1.5" },
  ".cm-content": { padding: "14px 0 8px", caretColor: "var(--text)" },
  ".cm-line": { padding: "0 10px" },
  ".cm-cursor, .cm-dropCursor": { borderLeftColor: "var(--text)" },
  "&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection": {
    backgroundColor: "var(--selection) !important",
  },
  ".cm-db-header": { backgroundColor: "var(--header-band)" },
  ".cm-db-key": { color: "var(--accent)", fontWeight: "600" },
  ".cm-placeholder": { color: "var(--muted)" },
  // A remote caret's name shows on hover (y-codemirror.next's rule) and for a moment after that
  // person types or moves (peer-names.ts), so names never sit over the line above while people read.
  ".cm-ySelectionInfo": {
    fontFamily: "var(--font-ui)",
    fontSize: "11px",
    top: "-1.25em",
    borderRadius: "3px 3px 3px 0",
    padding: "0 4px",
  },
  [`.${PEER_ACTIVE_CLASS} > .cm-ySelectionInfo`]: { opacity: "1" },
  ".cm-tooltip": { backgroundColor: "var(--surface)", border: "1px solid var(--border)", color: "var(--text)" },
  ".cm-tooltip-autocomplete > ul > li[aria-selected]": {
    backgroundColor: "var(--accent)",
    color: "var(--accent-text)",
  },
});

/** Where the query starts: the offset of the first line that is not a header line (the doc's end when none). */
export function bodyStart(state: EditorState): number {
  for (let n = 1; n <= state.doc.lines; n++) {
    const line = state.doc.line(n);
    if (!line.text.trimStart().startsWith("@")) return line.from;
  }
  return state.doc.length;
}

/**
 * PromQL for a prometheus cell: highlighting, and completion computed on the query alone — the
 * `@` header lines are not PromQL, and parsed with them the query's names sit in an error node
 * where codemirror-promql finds no metric or label context.
 */
function languageFor(
  kit: PromQLKit | undefined,
  plugin: string | undefined,
  complete: CompleteFn | undefined,
): Extension {
  if (plugin !== "prometheus" || !kit) return [];
  const promql = new kit.PromQL().activateLinter(false).activateCompletion(false);
  if (complete)
    promql.setComplete({
      remote: kit.completionClient(complete, (e) => console.warn("databook: completion from the plugin failed", e)),
    });
  const language = promql.asExtension();
  const strategy = promql.getComplete();
  const source = async (ctx: CompletionContext): Promise<CompletionResult | null> => {
    const from = bodyStart(ctx.state);
    if (ctx.pos < from) return null;
    const query = EditorState.create({ doc: ctx.state.sliceDoc(from), extensions: language });
    const r = await strategy.promQL(new CompletionContext(query, ctx.pos - from, ctx.explicit));
    if (!r) return null;
    return { ...r, from: r.from + from, ...(r.to === undefined ? {} : { to: r.to + from }) };
  };
  // One array for the editor's life: CodeMirror tracks running completions by source identity.
  const data = [{ autocomplete: source }];
  return [language, EditorState.languageData.of(() => data)];
}

// codemirror-promql is a large part of the page's code: it loads once (with our completion client
// for it), after the page's first render, so the first editor takes keys before it has been
// parsed; a prometheus cell's editor gains highlighting and completion when it arrives.
type PromQLKit = {
  PromQL: typeof PromQLExtension;
  completionClient: typeof import("./prom-completion.ts").completionClient;
};
let promqlKit: PromQLKit | undefined;
let promqlLoad: Promise<PromQLKit> | undefined;
function loadPromQL(): Promise<PromQLKit> {
  promqlLoad ??= Promise.all([import("@prometheus-io/codemirror-promql"), import("./prom-completion.ts")]).then(
    ([m, c]) => {
      promqlKit = { PromQL: m.PromQLExtension, completionClient: c.completionClient };
      return promqlKit;
    },
  );
  return promqlLoad;
}

/** Calls `fn`, then answers `handled` (CodeMirror's "did this key/event get handled"). */
function runAnd(fn: () => void, handled: boolean): boolean {
  fn();
  return handled;
}

/** Creates the editor inside `parent`. The caller must call destroy(). */
export function createCellEditor(
  parent: HTMLElement,
  opts: CellEditorOptions,
  initialPlugin: string | undefined,
): CellEditor {
  const language = new Compartment();
  let currentPlugin = initialPlugin;
  const undoManager = new Y.UndoManager(opts.text);
  // A completion list left open after a run would cover the run status line under the editor.
  const runFrom = (v: EditorView, mode: RunMode): boolean => {
    closeCompletion(v);
    opts.onRun?.(mode);
    return true;
  };
  const runKeys = opts.readOnly
    ? []
    : [
        Prec.highest(
          keymap.of([
            { key: "Shift-Enter", run: (v) => runFrom(v, "next") },
            { key: "Mod-Enter", run: (v) => runFrom(v, "stay") },
            { key: "Alt-Enter", run: (v) => runFrom(v, "insert") },
            { key: "Escape", run: () => runAnd(() => opts.onEscape?.(), false) },
          ]),
        ),
      ];
  const headerData = [{ autocomplete: headerCompletion(opts.plugins) }];
  const extensions: Extension[] = [
    ...runKeys,
    yCollab(opts.text, opts.awareness, { undoManager }),
    peerNameFlash(opts.text, opts.awareness),
    keymap.of([...closeBracketsKeymap, ...completionKeymap, ...yUndoManagerKeymap, ...defaultKeymap, indentWithTab]),
    drawSelection(),
    bracketMatching(),
    closeBrackets(),
    autocompletion({ activateOnTyping: true }),
    // The same source object every time: CodeMirror tracks running completions by source identity.
    EditorState.languageData.of(() => headerData),
    language.of(languageFor(promqlKit, initialPlugin, opts.complete)),
    syntaxHighlighting(highlight),
    headerDecorations,
    completeAfterPluginKey,
    // Moving the cursor (click or keys) ends the current undo step, so one undo never reaches
    // back across a jump to another place in the cell.
    EditorView.updateListener.of((u) => {
      if (u.transactions.some((t) => t.isUserEvent("select"))) undoManager.stopCapturing();
    }),
    EditorView.lineWrapping,
    theme,
    EditorView.contentAttributes.of({ "aria-label": "Cell source", spellcheck: "false" }),
    EditorView.domEventHandlers({
      blur: () => runAnd(() => opts.onBlur?.(), false),
      focus: () => runAnd(() => opts.onFocus?.(), false),
    }),
  ];
  if (opts.placeholderText) extensions.push(placeholder(opts.placeholderText));
  if (opts.readOnly) extensions.push(EditorState.readOnly.of(true), EditorView.editable.of(false));

  const view = new EditorView({ state: EditorState.create({ doc: opts.text.toString(), extensions }), parent });
  let destroyed = false;
  /** Sets the language for the current plugin, once codemirror-promql is there. */
  const withPromQL = (): void => {
    const apply = () => {
      if (!destroyed)
        view.dispatch({ effects: language.reconfigure(languageFor(promqlKit, currentPlugin, opts.complete)) });
    };
    if (promqlKit || currentPlugin !== "prometheus") apply();
    else
      (opts.later ?? ((load) => load()))(() => {
        loadPromQL().then(apply, (e: Error) => {
          console.warn("databook: PromQL highlighting and completion could not load", e);
        });
      });
  };
  if (initialPlugin === "prometheus" && !promqlKit) withPromQL();
  return {
    view,
    setPlugin(plugin) {
      if (plugin === currentPlugin) return;
      const wasProm = currentPlugin === "prometheus";
      currentPlugin = plugin;
      if (wasProm !== (plugin === "prometheus")) withPromQL();
    },
    focusEnd() {
      view.focus();
      view.dispatch({ selection: { anchor: view.state.doc.length }, scrollIntoView: true });
    },
    destroy() {
      destroyed = true;
      view.destroy();
      undoManager.destroy();
    },
  };
}
