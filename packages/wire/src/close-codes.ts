/**
 * WebSocket close codes of the co-editing endpoint: 4000 + the matching HTTP status, so a client can
 * tell "sign in again" from "no such notebook" from "your frame was bad". Shared by server and web
 * app; docs/api.md lists them.
 */
export const CLOSE_CODES = {
  /** Rights changed (role raised or lowered): reconnect to get the new rights. */
  RIGHTS_CHANGED: 4205,
  BAD_FRAME: 4400,
  /** No credential, or the session / share link / token ended (expired, revoked, signed out, disabled). Final. */
  SESSION_ENDED: 4401,
  /** The caller may not open this notebook, or its access was removed. Final. */
  ACCESS_REMOVED: 4403,
  NOT_FOUND: 4404,
  TOO_LARGE: 4413,
  /** The page runs an older script than the server speaks: reload. Final. */
  UPGRADED: 4426,
  SERVER_ERROR: 4500,
  /**
   * The server's database is unavailable (PostgreSQL down or unreachable): nothing can be loaded
   * or stored. Not final: the page keeps what is typed and reconnects until it is back.
   */
  STORAGE_UNAVAILABLE: 4503,
} as const;

export type CloseCode = (typeof CLOSE_CODES)[keyof typeof CLOSE_CODES];

const REASONS: Record<CloseCode, string> = {
  4205: "your rights on this notebook changed: reconnecting",
  4400: "malformed message: not a y-websocket frame",
  4401: "your session ended: sign in again",
  4403: "you no longer have access to this notebook",
  4404: "no such notebook",
  4413: "message too large",
  4426: "Databook was upgraded: reload the page",
  4500: "the server could not load or store the notebook",
  4503: "the server's database is unavailable: nothing can be saved until it is back",
};

/** The human reason for a close code (≤ 123 bytes, the WebSocket limit); undefined for other codes. */
export function closeReason(code: number): string | undefined {
  return REASONS[code as CloseCode];
}

/**
 * True for codes after which reconnecting cannot help: the session ended, access was removed, the
 * notebook does not exist, the page must be reloaded. The page stops reconnecting and says why.
 * {@link CLOSE_CODES}.RIGHTS_CHANGED is not final: the page reconnects with its new rights.
 */
export function isPermanentClose(code: number): boolean {
  return (
    code === CLOSE_CODES.SESSION_ENDED ||
    code === CLOSE_CODES.ACCESS_REMOVED ||
    code === CLOSE_CODES.NOT_FOUND ||
    code === CLOSE_CODES.UPGRADED
  );
}
