import { createServer, type IncomingMessage, request, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A loopback HTTP server started by these helpers; `requests` records what it received. */
export type TestServer = {
  url: string;
  port: number;
  requests: { method: string; url: string; headers: IncomingMessage["headers"]; body: string }[];
  close: () => Promise<void>;
};

/**
 * Starts an HTTP server on 127.0.0.1 and a free port, recording every request (method, path,
 * headers, body) before handing it to `handler`.
 */
export async function startHttpServer(
  handler: (req: IncomingMessage, body: string, res: ServerResponse) => void | Promise<void>,
): Promise<TestServer> {
  const requests: TestServer["requests"] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      Promise.resolve(handler(req, body, res)).catch((err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A reverse proxy that forwards to `target` only requests carrying `Authorization: Bearer <token>`;
 * others get 401 with a JSON body that *echoes the Authorization header it got*, so a test can
 * check that a client scrubs secrets from upstream error text.
 */
export function startBearerProxy(target: string, token: string): Promise<TestServer> {
  return startHttpServer((req, body, res) => {
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.statusCode = 401;
      res.setHeader("content-type", "application/json");
      res.end(
        JSON.stringify({
          status: "error",
          errorType: "unauthorized",
          error: `bad credentials: ${req.headers.authorization}`,
        }),
      );
      return;
    }
    const upstream = request(
      `${target}${req.url}`,
      { method: req.method, headers: { ...req.headers, host: new URL(target).host } },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on("error", (err) => {
      res.statusCode = 502;
      res.end(String(err));
    });
    upstream.end(body);
  });
}
