import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { type ErrorKind, isErrorKind } from "@databook/wire";
import { PluginService } from "../../gen/databook/v1/plugins_pb.js";
import { ERROR_KIND_HEADER } from "./service.ts";

/** A gRPC client of `databook.v1.PluginService` at `baseUrl` (e.g. `http://127.0.0.1:50051`, HTTP/2). */
export function pluginClient(baseUrl: string) {
  return createClient(PluginService, createGrpcTransport({ baseUrl }));
}

const KIND_OF_CODE: Partial<Record<Code, ErrorKind>> = {
  [Code.NotFound]: "not-found",
  [Code.InvalidArgument]: "bad-input",
  [Code.PermissionDenied]: "denied",
  [Code.DeadlineExceeded]: "timeout",
  [Code.ResourceExhausted]: "output-limit",
  [Code.Unavailable]: "upstream",
  [Code.FailedPrecondition]: "plugin-broken",
  [Code.Internal]: "internal",
};

/**
 * Turns a failed call into `{ kind, message }`: the kind from the `databook-error-kind` metadata
 * when the server sent it, else from the status code; a connection failure is `upstream` with a
 * message naming the server.
 */
export function errorFromConnect(e: unknown, baseUrl: string): { kind: ErrorKind; message: string; code?: Code } {
  const ce = ConnectError.from(e);
  const k = ce.metadata.get(ERROR_KIND_HEADER);
  if (isErrorKind(k)) return { kind: k, message: ce.rawMessage, code: ce.code };
  if (ce.code === Code.Unavailable && !k)
    return {
      kind: "upstream",
      message: `could not reach the Databook gRPC server at ${baseUrl}: ${ce.rawMessage}`,
      code: ce.code,
    };
  return { kind: KIND_OF_CODE[ce.code] ?? "internal", message: ce.rawMessage, code: ce.code };
}
