#!/usr/bin/env node
// Reference peer: @hocuspocus/server with its default configuration (no extensions, no
// persistence) on a free loopback port. Clients must use the Hocuspocus provider.
// Prints {"peer":"hocuspocus","port","pid"} on stdout once listening; SIGTERM stops it.
import { Server } from "@hocuspocus/server";

const server = new Server({ port: 0, address: "127.0.0.1", quiet: true, stopOnSignals: false });
await server.listen();
process.stdout.write(
  `${JSON.stringify({ peer: "hocuspocus", port: server.address.port, pid: process.pid, node: process.version })}\n`,
);
const stop = async () => {
  setTimeout(() => process.exit(0), 2000).unref();
  await server.destroy();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
