/**
 * A mistake in a cell header or a time/duration value. `kind` is always `bad-input` so callers can
 * pass it on as a typed error; `line`/`column` (1-based, within the cell) point at the mistake when
 * it is in the header.
 */
export class CellSyntaxError extends Error {
  readonly kind = "bad-input" as const;
  readonly line: number | undefined;
  readonly column: number | undefined;
  constructor(message: string, line?: number, column?: number) {
    super(message);
    this.name = "CellSyntaxError";
    this.line = line;
    this.column = column;
  }
}
