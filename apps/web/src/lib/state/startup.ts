/**
 * The order a notebook page does its first work in, so the first cell's editor takes keystrokes
 * as early as possible: that editor mounts with the first render; the other editors, the charts,
 * the Markdown renderer, PromQL's highlighting, further cells and the timeline wait until it has
 * mounted, then start each at its own idle moment. A click or a keystroke that arrives meanwhile
 * waits for one short task, not for all of them (bench/web: page usable).
 *
 * A page without an editor near the top (only Markdown, or no cells) settles once its first cells
 * are on screen (`settleUnlessClaimed`); `fallbackMs` after the page started it settles anyway,
 * should the first editor never mount.
 */
import { getContext, setContext } from "svelte";
import { whenIdle } from "../idle.ts";

export class Startup {
  #settled = false;
  #claimed = false;
  #waiting = new Set<() => void>();
  #fallback: ReturnType<typeof setTimeout>;

  constructor(fallbackMs = 2000) {
    this.#fallback = setTimeout(() => this.settle(), fallbackMs);
  }

  /** True once the first editor has mounted (or the page settled without one). */
  get settled(): boolean {
    return this.#settled;
  }

  /** True for the first caller only, before the page settled: that cell mounts its editor at once. */
  claimFirstEditor(): boolean {
    if (this.#claimed || this.#settled) return false;
    this.#claimed = true;
    return true;
  }

  /** The first editor is there (or never will be): starts everything that waits. Idempotent. */
  settle(): void {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#fallback);
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const start of waiting) start();
  }

  /** Settles when no cell claimed the first editor (the first cells are rendered and have none). */
  settleUnlessClaimed(): void {
    if (!this.#claimed) this.settle();
  }

  /**
   * Calls `fn` at an idle moment once the page has settled (at most `idleTimeoutMs` after that;
   * see `whenIdle`). Returns the cancel function, shaped for `$effect`'s teardown.
   */
  whenSettled(fn: () => void, idleTimeoutMs = 1000): () => void {
    let cancelIdle: (() => void) | undefined;
    const start = () => {
      cancelIdle = whenIdle(fn, idleTimeoutMs);
    };
    if (this.#settled) start();
    else this.#waiting.add(start);
    return () => {
      this.#waiting.delete(start);
      cancelIdle?.();
    };
  }

  /** Stops the fallback timer (the page is leaving). */
  destroy(): void {
    clearTimeout(this.#fallback);
    this.#waiting.clear();
  }
}

/**
 * Calls `fn` once, when `el` first comes within `rootMargin` (CSS margin, e.g. "800px 0px") of
 * the viewport; on a notebook page (`startup` set) at an idle moment once the page has settled,
 * at most `idleTimeoutMs` after both. Returns the cancel function, shaped for `$effect`'s teardown.
 */
export function whenNear(
  el: Element,
  rootMargin: string,
  startup: Startup | undefined,
  fn: () => void,
  idleTimeoutMs = 300,
): () => void {
  let cancel: (() => void) | undefined;
  // disconnected in the callback that sees the element first: no later callback comes
  const io = new IntersectionObserver(
    (entries) => {
      if (!entries.some((e) => e.isIntersecting)) return;
      io.disconnect();
      if (startup) cancel = startup.whenSettled(fn, idleTimeoutMs);
      else fn();
    },
    { rootMargin },
  );
  io.observe(el);
  return () => {
    io.disconnect();
    cancel?.();
  };
}

const KEY = Symbol("databook.startup");

export function setStartup(s: Startup): void {
  setContext(KEY, s);
}

/** The page's Startup, or undefined outside a notebook page (a chart drawn on its own starts at once). */
export function getStartup(): Startup | undefined {
  return getContext<Startup | undefined>(KEY);
}
