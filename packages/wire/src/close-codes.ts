/**
 * WebSocket close codes of the co-editing endpoint: 4000 + the matching HTTP status, so a client can
 * tell "wrong token" from "no such notebook" from "your frame was bad". Shared by server and web app.
 */
export const CLOSE_CODES = {
  BAD_FRAME: 4400,
  UNAUTHORIZED: 4401,
  FORBIDDEN: 4403,
  NOT_FOUND: 4404,
  TOO_LARGE: 4413,
  SERVER_ERROR: 4500,
} as const;

export type CloseCode = (typeof CLOSE_CODES)[keyof typeof CLOSE_CODES];

const REASONS: Record<CloseCode, string> = {
  4400: "malformed message: not a y-websocket frame",
  4401: "missing or wrong notebook token",
  4403: "this link is read-only",
  4404: "no such notebook",
  4413: "message too large",
  4500: "the server could not load or store the notebook",
};

/** The human reason for a close code (≤ 123 bytes, the WebSocket limit); undefined for other codes. */
export function closeReason(code: number): string | undefined {
  return REASONS[code as CloseCode];
}

/** True for codes after which reconnecting cannot help (wrong token, missing notebook). */
export function isPermanentClose(code: number): boolean {
  return code === CLOSE_CODES.UNAUTHORIZED || code === CLOSE_CODES.NOT_FOUND || code === CLOSE_CODES.FORBIDDEN;
}
