/** One pending yes/no question for the page's confirmation dialog (used before action runs). */
export type Question = { title: string; body: string; confirmLabel: string; resolve: (ok: boolean) => void };

export class Confirmations {
  pending = $state.raw<Question | undefined>(undefined);

  /** Asks; resolves true when the person confirms, false when they cancel or another question replaces it. */
  ask(title: string, body: string, confirmLabel = "Run"): Promise<boolean> {
    this.pending?.resolve(false);
    return new Promise((resolve) => {
      this.pending = { title, body, confirmLabel, resolve };
    });
  }

  answer(ok: boolean): void {
    const q = this.pending;
    this.pending = undefined;
    q?.resolve(ok);
  }
}
