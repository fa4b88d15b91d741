/**
 * A ticking "now" (ms since epoch) for elapsed-time displays. It only ticks while someone holds it
 * (`hold()` returns the release function), so an idle notebook does no work.
 */
export class Clock {
  now = $state(Date.now());
  #holders = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #periodMs: number;

  constructor(periodMs = 100) {
    this.#periodMs = periodMs;
  }

  hold(): () => void {
    this.#holders++;
    if (!this.#timer) {
      this.now = Date.now();
      this.#timer = setInterval(() => (this.now = Date.now()), this.#periodMs);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.#holders === 0 && this.#timer) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    };
  }
}
