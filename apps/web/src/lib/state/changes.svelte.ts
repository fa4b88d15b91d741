/**
 * The busy flag and last problem of a panel whose changes are REST calls followed by reloading
 * what the server now says (Share dialog, token lists, admin lists). One change at a time.
 */
export class Changes {
  busy = $state(false);
  problem = $state<string | undefined>(undefined);

  /**
   * Runs `change`, then `reload`; true when both worked. A failure's message goes to `problem`
   * (the previous problem is cleared first).
   */
  async run(change: () => Promise<unknown>, reload: () => Promise<void>): Promise<boolean> {
    this.busy = true;
    this.problem = undefined;
    try {
      await change();
      await reload();
      return true;
    } catch (e) {
      this.problem = (e as Error).message;
      return false;
    } finally {
      this.busy = false;
    }
  }

  /** Runs a load on its own, keeping its failure's message in `problem`. */
  async load(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.problem = (e as Error).message;
    }
  }
}
