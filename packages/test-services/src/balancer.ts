import { connect, createServer, type Socket } from "node:net";
import { joinSockets } from "./tcp-proxy.ts";

/**
 * A TCP balancer on 127.0.0.1 in front of several servers on 127.0.0.1 (`backends`, ports): each
 * new connection goes to the first backend, in the given order, that accepts a TCP connection —
 * what a balancer with one active server and backups does (haproxy's `backup`). A backend that
 * refuses (its process died) is skipped for that connection; one that comes back takes new
 * connections again. Connections already open stay on their backend until it closes them.
 * `url` is `http://127.0.0.1:<port>`; `connections(port)` counts the open connections to one
 * backend; `close()` stops accepting and cuts every connection.
 */
export type Balancer = {
  port: number;
  url: string;
  connections: (backendPort: number) => number;
  close: () => Promise<void>;
};

/** How long one backend may take to accept before the next is tried (ms). */
const CONNECT_TIMEOUT_MS = 2000;

/** Connects to `port` on loopback; resolves with the socket, or undefined when it refuses or times out. */
function tryConnect(port: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    const fail = () => {
      s.destroy();
      resolve(undefined);
    };
    s.setTimeout(CONNECT_TIMEOUT_MS, fail);
    s.once("error", fail);
    s.once("connect", () => {
      s.setTimeout(0);
      s.off("error", fail);
      resolve(s);
    });
  });
}

/**
 * Starts a {@link Balancer} on a free loopback port in front of `backends` (ports on 127.0.0.1,
 * tried in this order for every new connection). A client connection no backend accepts is closed.
 * @throws Error when `backends` is empty.
 */
export async function startBalancer(backends: number[]): Promise<Balancer> {
  if (!backends.length) throw new Error("startBalancer needs at least one backend port");
  const sockets = new Set<Socket>();
  const perBackend = new Map<number, number>();
  const server = createServer({ pauseOnConnect: true }, async (client) => {
    sockets.add(client);
    client.once("close", () => sockets.delete(client));
    client.on("error", () => client.destroy());
    for (const port of backends) {
      const upstream = await tryConnect(port);
      if (!upstream) continue;
      if (client.destroyed) {
        upstream.destroy();
        return;
      }
      perBackend.set(port, (perBackend.get(port) ?? 0) + 1);
      upstream.once("close", () => perBackend.set(port, (perBackend.get(port) ?? 1) - 1));
      joinSockets(client, upstream, sockets);
      client.resume();
      return;
    }
    client.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("could not read back the balancer's port");
  return {
    port: address.port,
    url: `http://127.0.0.1:${address.port}`,
    connections: (port) => perBackend.get(port) ?? 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
