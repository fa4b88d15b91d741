import { createHmac } from "node:crypto";
import { NOTIFY_HEADERS, type NotifyEvent } from "@databook/wire";

/**
 * The signature a receiver checks (docs/notifications.md): `v1=` + lowercase hex of
 * HMAC-SHA256(secret, `${timestampS}.${body}`) over the body's UTF-8 bytes.
 */
export function signature(secret: string, timestampS: number, body: string): string {
  return `v1=${createHmac("sha256", secret).update(`${timestampS}.`).update(body, "utf8").digest("hex")}`;
}

/** The headers of one delivery attempt, signed at `nowMs`. */
export function signedHeaders(
  secret: string,
  body: string,
  delivery: { id: string; event: NotifyEvent },
  nowMs: number,
): [string, string][] {
  const ts = Math.floor(nowMs / 1000);
  return [
    ["content-type", "application/json"],
    ["user-agent", "Databook-Notifications/1"],
    [NOTIFY_HEADERS.timestamp, String(ts)],
    [NOTIFY_HEADERS.signature, signature(secret, ts, body)],
    [NOTIFY_HEADERS.delivery, delivery.id],
    [NOTIFY_HEADERS.event, delivery.event],
  ];
}
