/**
 * Kinds of audit-log entries (docs/security.md): calls from outside through gRPC / Connect, token
 * and account changes, and failed authentications. The server writes them; the admin page filters
 * by them (`GET /api/admin/audit?type=`).
 */
export const AUDIT_TYPES = [
  "grpc.call",
  "token.created",
  "token.first-use",
  "token.revoked",
  "account.created",
  "account.changed",
  "auth.failed",
  "auth.failures-suppressed",
] as const;

/** One of {@link AUDIT_TYPES}. */
export type AuditType = (typeof AUDIT_TYPES)[number];
