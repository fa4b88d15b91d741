import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { ErrorKind } from "@databook/wire";
import { isStorageUnavailable } from "../db/sql.ts";
import { STORAGE_UNAVAILABLE } from "../http-errors.ts";

/** gRPC status code per Databook error kind (proto/databook/v1/plugins.proto, docs/grpc.md). */
export const CODE_OF_KIND: Record<ErrorKind, Code> = {
  "not-found": Code.NotFound,
  "bad-input": Code.InvalidArgument,
  denied: Code.PermissionDenied,
  timeout: Code.DeadlineExceeded,
  "memory-limit": Code.ResourceExhausted,
  "output-limit": Code.ResourceExhausted,
  "too-many-requests": Code.ResourceExhausted,
  upstream: Code.Unavailable,
  "plugin-broken": Code.FailedPrecondition,
  internal: Code.Internal,
};

/** Metadata key carrying the exact error kind next to the status code. */
export const ERROR_KIND_HEADER = "databook-error-kind";

/** A ConnectError for a Databook error: the code from {@link CODE_OF_KIND}, the kind in metadata. */
export function toConnectError(kind: ErrorKind, message: string): ConnectError {
  return new ConnectError(message, CODE_OF_KIND[kind], new Headers({ [ERROR_KIND_HEADER]: kind }));
}

/**
 * An interceptor to put outermost: a call that failed because the database is unavailable
 * ({@link isStorageUnavailable}: resolving the token, writing the audit entry…) answers
 * UNAVAILABLE with kind `upstream` and REST's {@link STORAGE_UNAVAILABLE} words, so the caller can
 * retry without being told where the database is (host and port go to `log` only).
 */
export function storageOutageInterceptor(log: (why: string) => void): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (e) {
      if (!isStorageUnavailable(e)) throw e;
      log((e as { message?: string }).message ?? String(e));
      throw toConnectError(STORAGE_UNAVAILABLE.kind, STORAGE_UNAVAILABLE.message);
    }
  };
}
