/** Page-wide state shared through context by the root layout: theme, time zone, who is signed in, the REST client. */
import { getContext, setContext } from "svelte";
import type { Api } from "../api.ts";
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
