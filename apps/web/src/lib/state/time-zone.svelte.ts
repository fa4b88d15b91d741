/**
 * The person's time-zone setting: every time on screen (charts, run lines, the timeline, range
 * labels and pickers) reads in one zone, local or UTC, and says which. Kept in localStorage
 * (`databook.zone`), so it follows the person on this browser; exports always state UTC.
 */
export type ZoneChoice = "local" | "UTC";

export class TimeZoneSetting {
  current = $state<ZoneChoice>("local");
  /** The browser's own IANA zone (what "local" means here), e.g. `America/Los_Angeles`. */
  readonly localZone: string = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

  constructor() {
    try {
      if (localStorage.getItem("databook.zone") === "UTC") this.current = "UTC";
    } catch {
      // storage refused (private mode): local until changed on this page
    }
  }

  /** True when times read in UTC. */
  get utc(): boolean {
    return this.current === "UTC";
  }

  /** The IANA zone times are shown in: `UTC` or {@link localZone}. */
  get zone(): string {
    return this.utc ? "UTC" : this.localZone;
  }

  set(choice: ZoneChoice): void {
    this.current = choice;
    try {
      localStorage.setItem("databook.zone", choice);
    } catch {
      // private mode: the choice lasts for this page only
    }
  }

  toggle(): void {
    this.set(this.utc ? "local" : "UTC");
  }
}
