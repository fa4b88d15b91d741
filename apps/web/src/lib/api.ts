/**
 * The REST client for apps/server (routes in docs/api.md), one object made of sections by concern.
 * Every failure becomes an ApiError with one of the wire error kinds and a message fit to show a
 * person; nothing here throws raw fetch or JSON errors.
 */
import { adminCalls } from "./api/admin.ts";
import { createHttp, type HttpOptions } from "./api/http.ts";
import { identityCalls } from "./api/identity.ts";
import { incidentCalls } from "./api/incidents.ts";
import { notebookCalls } from "./api/notebooks.ts";
import { sharingCalls } from "./api/sharing.ts";

export type { AuditFilter } from "./api/admin.ts";
export { ApiError } from "./api/http.ts";
export type * from "./api/incident-types.ts";
export type * from "./api/types.ts";

/** Makes the client; `onUnauthorized` hears every unexpected 401 (see api/http.ts). */
export function createApi(opts: HttpOptions = {}) {
  const http = createHttp(opts);
  return {
    ...notebookCalls(http),
    ...identityCalls(http),
    ...sharingCalls(http),
    ...adminCalls(http),
    ...incidentCalls(http),
  };
}

export type Api = ReturnType<typeof createApi>;
