/**
 * Which run each cell shows: the latest by default, or one past run a person opened from the
 * cell's history or from the timeline. Also which cells have their history list open. Per page
 * (in the notebook context), never shared with the other people on the notebook.
 */
export class RunView {
  /** cellId → the id of the past run shown instead of the latest. */
  pinned = $state.raw<ReadonlyMap<string, string>>(new Map());
  /** Cells whose history list is open. */
  open = $state.raw<ReadonlySet<string>>(new Set());

  /** The past run `cellId` shows, or undefined for the latest. */
  viewed(cellId: string): string | undefined {
    return this.pinned.get(cellId);
  }

  /** Shows run `runId` in cell `cellId` (undefined: back to the latest). */
  show(cellId: string, runId: string | undefined): void {
    const next = new Map(this.pinned);
    if (runId) next.set(cellId, runId);
    else next.delete(cellId);
    this.pinned = next;
  }

  isOpen(cellId: string): boolean {
    return this.open.has(cellId);
  }

  toggle(cellId: string, open = !this.open.has(cellId)): void {
    const next = new Set(this.open);
    if (open) next.add(cellId);
    else next.delete(cellId);
    this.open = next;
  }
}
