import { Counter, Gauge, type Registry } from "prom-client";
import type { Bus } from "./bus.ts";

/**
 * The bus's figures on `/metrics` (docs/operations.md, "Redis"), read from `bus.stats()` and
 * `bus.backlog()` at each scrape:
 * - `databook_bus_connected` 1 while the reader is connected to Redis;
 * - `databook_bus_streams` notebook streams read;
 * - `databook_bus_lag_ms` now − the Redis time of the last entry delivered;
 * - `databook_bus_backlog_entries` entries published and not yet read by this node;
 * - `databook_bus_published_total{outcome}`, `databook_bus_delivered_total`,
 *   `databook_bus_dropped_total{reason}`, `databook_bus_gaps_total{reason}`.
 */
export function registerBusMetrics(registry: Registry, bus: Pick<Bus, "stats" | "backlog">): void {
  const gauge = (name: string, help: string, value: () => number | Promise<number>) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.set(await value());
      },
    });
  gauge("databook_bus_connected", "1 while this node's bus reader is connected to Redis", () =>
    bus.stats().connected ? 1 : 0,
  );
  gauge("databook_bus_streams", "Notebook streams this node reads", () => bus.stats().subscribed);
  gauge(
    "databook_bus_lag_ms",
    "Now minus the Redis time of the last bus entry delivered (ms)",
    () => bus.stats().lagMs,
  );
  gauge("databook_bus_backlog_entries", "Bus entries published and not yet read by this node", () =>
    bus.backlog().catch(() => -1),
  );

  /** A counter that follows a running total in `stats()` (prom-client counters only go up by increments). */
  const follow = (name: string, help: string, label: string | undefined, totals: () => Record<string, number>) => {
    const seen = new Map<string, number>();
    new Counter({
      name,
      help,
      labelNames: label ? [label] : [],
      registers: [registry],
      collect() {
        for (const [k, v] of Object.entries(totals())) {
          const d = v - (seen.get(k) ?? 0);
          seen.set(k, v);
          if (d > 0) label ? this.inc({ [label]: k }, d) : this.inc(d);
          else if (label) this.inc({ [label]: k }, 0);
        }
      },
    });
  };
  follow("databook_bus_published_total", "Bus entries this node published, by outcome", "outcome", () => {
    const s = bus.stats();
    return { ok: s.published, failed: s.publishFailed };
  });
  follow("databook_bus_delivered_total", "Bus entries delivered to this node", undefined, () => ({
    all: bus.stats().delivered,
  }));
  follow(
    "databook_bus_dropped_total",
    "Bus entries read and dropped as forged or malformed, by reason",
    "reason",
    () => bus.stats().dropped,
  );
  follow(
    "databook_bus_gaps_total",
    "Times this node had to resync from the database, by reason",
    "reason",
    () => bus.stats().gaps,
  );
}
