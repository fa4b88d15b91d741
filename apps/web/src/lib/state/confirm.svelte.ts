/**
 * One pending yes/no question for the page's confirmation dialog (used before action runs).
 * `source` is shown verbatim as code (exactly what will run); `details` as a two-column list in the
 * given order; `warnings` and `problem` (why it would fail) stand out above the buttons.
 */
export type Question = {
  title: string;
  body: string;
  confirmLabel: string;
  source?: string;
  details?: [string, string][];
  warnings?: string[];
  problem?: string;
  resolve: (ok: boolean) => void;
};

/** What a caller asks: everything but the answer. */
export type Ask = Omit<Question, "resolve" | "confirmLabel"> & { confirmLabel?: string };

export class Confirmations {
  pending = $state.raw<Question | undefined>(undefined);

  /** Asks; resolves true when the person confirms, false when they cancel or another question replaces it. */
  ask(title: string, body: string, confirmLabel = "Run"): Promise<boolean> {
    return this.askWith({ title, body, confirmLabel });
  }

  /** Like ask(), with the source, details, warnings or problem to show. */
  askWith(q: Ask): Promise<boolean> {
    this.pending?.resolve(false);
    return new Promise((resolve) => {
      this.pending = { confirmLabel: "Run", ...q, resolve };
    });
  }

  answer(ok: boolean): void {
    const q = this.pending;
    this.pending = undefined;
    q?.resolve(ok);
  }
}
