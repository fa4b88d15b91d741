import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { type ErrorKind, isErrorKind } from "@databook/wire";
import { PluginService } from "../../gen/databook/v1/plugins_pb.js";
import { ERROR_KIND_HEADER } from "./errors.ts";

/**
 * A client of `databook.v1.PluginService` at `baseUrl`: gRPC over HTTP/2 for the gRPC port
 * (`http://127.0.0.1:50051`), or, with `protocol: "connect"`, the Connect protocol over HTTP/1.1,
 * which the web port (`http://127.0.0.1:8080`) serves. `token` (an API token) goes in the
 * `authorization: Bearer` header of every call.
 */
export function pluginClient(baseUrl: string, protocol: "grpc" | "connect" = "grpc", token?: string) {
  const interceptors: Interceptor[] = token
    ? [
        (next) => (req) => {
          req.header.set("authorization", `Bearer ${token}`);
          return next(req);
        },
      ]
    : [];
  const transport =
    protocol === "grpc"
      ? createGrpcTransport({ baseUrl, interceptors })
      : createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors });
  return createClient(PluginService, transport);
}

/**
 * True when a gRPC call failed because the server at the other end does not speak HTTP/2 (e.g. the
 * web port was given instead of the gRPC port): worth retrying with the Connect protocol.
 */
export function isNotHttp2(e: unknown): boolean {
  const cause = ConnectError.from(e).cause as { code?: string } | undefined;
  return cause?.code === "ERR_HTTP2_ERROR" || cause?.code === "ERR_HTTP2_SESSION_ERROR";
}

const KIND_OF_CODE: Partial<Record<Code, ErrorKind>> = {
  [Code.Unauthenticated]: "denied",
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
