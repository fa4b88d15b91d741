/**
 * Outbound incident notifications (docs/notifications.md): the headers every delivery carries and
 * the replay window receivers must apply. A receiver recomputes
 * `hex(HMAC-SHA256(secret, timestamp + "." + body))` over the raw body bytes, compares it in
 * constant time with the `v1=` value of {@link NOTIFY_HEADERS}.signature, and refuses a timestamp
 * more than {@link NOTIFY_REPLAY_WINDOW_S} seconds from its own clock.
 */
export const NOTIFY_HEADERS = {
  /** Unix time in seconds when this attempt was signed (each retry is signed anew). */
  timestamp: "x-databook-timestamp",
  /** `v1=<64 lowercase hex>`: HMAC-SHA256 over `timestamp + "." + body` with the channel's secret. */
  signature: "x-databook-signature",
  /** The delivery's id: the same on every retry, so a receiver can drop a repeat. */
  delivery: "x-databook-delivery",
  /** What happened: one of {@link NOTIFY_EVENTS}. */
  event: "x-databook-event",
} as const;

/** How far a receiver may let a signed timestamp be from its own clock (seconds). */
export const NOTIFY_REPLAY_WINDOW_S = 300;

/** The events notifications are sent for. */
export const NOTIFY_EVENTS = ["incident.opened", "incident.status-changed", "incident.resolved"] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/**
 * One notification delivery as admins see it (`GET /api/admin/notifications`): never the share
 * link's secret, never the channel URL's path. Times are ms since the epoch.
 */
export type NotifyDelivery = {
  id: string;
  channel: string;
  notebookId: string;
  event: NotifyEvent;
  state: "pending" | "delivered" | "abandoned";
  attempts: number;
  createdAtMs: number;
  nextAttemptAtMs?: number;
  lastAttemptAtMs?: number;
  lastError?: string;
  deliveredAtMs?: number;
  abandonedAtMs?: number;
  shareLinkId?: string;
};
