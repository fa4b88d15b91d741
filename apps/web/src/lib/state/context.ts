/**
 * What the notebook page shares with its components through Svelte context (instead of
 * module-level singletons): the live session, the REST client, the plugin list and page-wide state.
 */
import { getContext, setContext } from "svelte";
import type { Api, PluginInfo } from "../api.ts";
import type { Clock } from "./clock.svelte.ts";
import type { Confirmations } from "./confirm.svelte.ts";
import type { NotebookSession } from "./notebook.svelte.ts";
import type { RunView } from "./run-view.svelte.ts";
import type { Theme } from "./theme.svelte.ts";

export type NotebookContext = {
  session: NotebookSession;
  api: Api;
  plugins: () => PluginInfo[];
  clock: Clock;
  confirm: Confirmations;
  theme: Theme;
  /** Which run each cell shows (the latest, or one opened from its history or the timeline). */
  runView: RunView;
};

const KEY = Symbol("databook.notebook");

export function setNotebookContext(ctx: NotebookContext): void {
  setContext(KEY, ctx);
}

export function getNotebookContext(): NotebookContext {
  const ctx = getContext<NotebookContext | undefined>(KEY);
  if (!ctx) throw new Error("notebook components must be used inside the notebook page");
  return ctx;
}
