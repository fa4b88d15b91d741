/**
 * The range this page draws charts for, when it is not (only) the notebook's: an editor's drag to
 * zoom sets the notebook's range for everyone (absolute) and keeps the range before it for one
 * click back; a viewer's zoom, and a link that carries a range (`?from=…&to=…#cell-…`), are a
 * local view of this page only, labelled as such, that moves nobody else's range.
 */
import type { TimeRangeSetting } from "@databook/wire";
import { getContext, setContext } from "svelte";

/** A view of this page only: ms since the epoch; `why` says where it came from, for its label. */
export type LocalView = { startMs: number; endMs: number; why: "zoom" | "link" };

/** What a zoom needs of the notebook session. */
type Session = {
  readonly canEdit: boolean;
  readonly timeRange: TimeRangeSetting | undefined;
  setTimeRange(r: TimeRangeSetting): void;
};

/** The notebook's default when none is set (docs/ydoc-schema.md). */
const DEFAULT_RANGE: TimeRangeSetting = { kind: "relative", range: "1h" };

export class RangeView {
  /** A view of this page only, or undefined: charts follow the notebook's range. */
  local = $state.raw<LocalView | undefined>(undefined);
  /** The notebook's range before this person's zoom replaced it, for one click back. */
  back = $state.raw<TimeRangeSetting | undefined>(undefined);
  /** The cell whose chart the editor zoomed in (drawn zoomed at once, before any Run all). */
  zoomedCell = $state<string | undefined>(undefined);
  /** Runs every query cell once (the range bar registers it; stale notices offer it). */
  runAll: (() => Promise<void>) | undefined;
  readonly #session: Session;

  constructor(session: Session) {
    this.#session = session;
  }

  /**
   * A drag over a chart from `startMs` to `endMs`: an editor sets the notebook's range to it for
   * everyone; anyone else gets a local view. Ignored for an empty span.
   */
  zoom(cellId: string | undefined, startMs: number, endMs: number): void {
    const a = Math.round(Math.min(startMs, endMs));
    const b = Math.round(Math.max(startMs, endMs));
    if (!(b > a)) return;
    if (this.#session.canEdit) {
      if (this.back === undefined) this.back = this.#session.timeRange ?? DEFAULT_RANGE;
      this.#session.setTimeRange({ kind: "absolute", startMs: a, endMs: b });
      this.zoomedCell = cellId;
      this.local = undefined;
    } else {
      this.local = { startMs: a, endMs: b, why: "zoom" };
    }
  }

  /** One click back: leaves a local view, or puts back the notebook's range from before the zoom. */
  goBack(): void {
    if (this.local) {
      this.local = undefined;
      return;
    }
    if (this.back && this.#session.canEdit) this.#session.setTimeRange(this.back);
    this.back = undefined;
    this.zoomedCell = undefined;
  }

  /** Someone chose a range in the picker: the zoom history no longer applies. */
  forget(): void {
    this.back = undefined;
    this.zoomedCell = undefined;
    this.local = undefined;
  }

  /** The range charts are cut to: the local view, or the notebook's absolute range for the zoomed chart. */
  rangeFor(cellId: string | undefined): { startMs: number; endMs: number } | undefined {
    if (this.local) return this.local;
    const r = this.#session.timeRange;
    if (cellId && cellId === this.zoomedCell && r?.kind === "absolute") return r;
    return undefined;
  }
}

/** A local view from a link's query (`from`, `to`: ms since the epoch), or undefined. */
export function viewFromSearch(search: string): LocalView | undefined {
  const q = new URLSearchParams(search);
  const from = Number(q.get("from"));
  const to = Number(q.get("to"));
  if (
    !q.has("from") ||
    !q.has("to") ||
    !Number.isSafeInteger(from) ||
    !Number.isSafeInteger(to) ||
    from >= to ||
    from < 0
  )
    return undefined;
  return { startMs: from, endMs: to, why: "link" };
}

/** A link to a cell with a range: `<page>?from=<ms>&to=<ms>#cell-<id>`. */
export function cellLink(pageUrl: string, cellId: string, range: { startMs: number; endMs: number }): string {
  const u = new URL(pageUrl);
  u.search = `?from=${range.startMs}&to=${range.endMs}`;
  u.hash = `cell-${cellId}`;
  return u.toString();
}

const KEY = Symbol("databook.range-view");

export function setRangeView(v: RangeView): void {
  setContext(KEY, v);
}

/** The page's range view, or undefined outside a notebook page (a chart drawn elsewhere). */
export function getRangeView(): RangeView | undefined {
  return getContext<RangeView | undefined>(KEY);
}
