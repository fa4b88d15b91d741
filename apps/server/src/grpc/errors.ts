import { Code, ConnectError } from "@connectrpc/connect";
import type { ErrorKind } from "@databook/wire";

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
