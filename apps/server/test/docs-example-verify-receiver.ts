import { createHmac, timingSafeEqual } from "node:crypto";

/** True when a Databook notification is signed with `secret` and at most 5 minutes old. */
export function verifyDatabook(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  rawBody: string,
  nowMs = Date.now(),
): boolean {
  const ts = Number(headers["x-databook-timestamp"]);
  if (!Number.isInteger(ts) || Math.abs(nowMs / 1000 - ts) > 300) return false;
  const want = Buffer.from(`v1=${createHmac("sha256", secret).update(`${ts}.${rawBody}`).digest("hex")}`);
  const got = Buffer.from(String(headers["x-databook-signature"] ?? ""));
  return want.length === got.length && timingSafeEqual(want, got);
}
