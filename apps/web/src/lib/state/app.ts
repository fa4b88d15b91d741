/** Page-wide state shared through context by the root layout: theme, time zone, who is signed in, the REST client. */
import { getContext, setContext } from "svelte";
import type { Api } from "../api.ts";
import { formatTimeIn } from "../time-in-zone.ts";
import type { Identity } from "./identity.svelte.ts";
import type { Theme } from "./theme.svelte.ts";
import type { TimeZoneSetting } from "./time-zone.svelte.ts";

export type AppContext = { theme: Theme; zone: TimeZoneSetting; identity: Identity; api: Api };
const KEY = Symbol("databook.app");

export function setAppContext(ctx: AppContext): void {
  setContext(KEY, ctx);
}

export function getAppContext(): AppContext {
  const ctx = getContext<AppContext | undefined>(KEY);
  if (!ctx) throw new Error("getAppContext outside the root layout");
  return ctx;
}

/**
 * Formats an instant (ms since the epoch) in the page's one zone (the header's Local/UTC) with the
 * zone named and the date when not today (`formatTimeIn`). Call it while a component is set up;
 * outside the root layout (a benchmark page) times read in the browser's zone.
 */
export function pageTimeFormat(): (ms: number) => string {
  const zone = getContext<AppContext | undefined>(KEY)?.zone;
  const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  return (ms) => formatTimeIn(ms, zone?.zone ?? browserZone);
}
