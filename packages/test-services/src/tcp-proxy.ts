import { connect, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP forwarder on 127.0.0.1 in front of `target` (`host:port`): what a network partition
 * between one client and a server looks like. `cut()` drops every connection through it and
 * refuses new ones (the port stays the same); `mend()` accepts again; `close()` ends it.
 */
export type TcpProxy = {
  port: number;
  cut: () => Promise<void>;
  mend: () => Promise<void>;
  close: () => Promise<void>;
};

/**
 * Pipes `a` and `b` into each other: an end on one side ends the other (once what it was sent is
 * written), an error on either destroys both. Both stay in `sockets` until they close, so their
 * owner can cut them.
 */
export function joinSockets(a: Socket, b: Socket, sockets: Set<Socket>): void {
  for (const sock of [a, b]) {
    sockets.add(sock);
    sock.once("close", () => sockets.delete(sock));
    sock.on("error", () => {
      a.destroy();
      b.destroy();
    });
  }
  a.pipe(b);
  b.pipe(a);
}

/** Starts a {@link TcpProxy} on a free loopback port, forwarding to `targetPort` on 127.0.0.1. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) =>
        joinSockets(client, connect({ host: "127.0.0.1", port: targetPort }), sockets),
      );
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        const a = s.address();
        if (a && typeof a === "object") port = a.port;
        server = s;
        resolve();
      });
    });
  const cut = async () => {
    const s = server;
    server = undefined;
    for (const sock of sockets) sock.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  return {
    port,
    cut,
    mend: async () => {
      if (!server) await listen();
    },
    close: cut,
  };
}
