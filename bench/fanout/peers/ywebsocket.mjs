#!/usr/bin/env node
// Reference peer: @y/websocket-server as its own bin wires it (an http server, a ws server in
// noServer mode, setupWSConnection), without persistence, on a free loopback port.
// Prints {"peer":"ywebsocket","port","pid"} on stdout once listening; SIGTERM stops it.
import http from "node:http";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { docs, setupWSConnection } from "@y/websocket-server/utils";

// the ws version @y/websocket-server itself depends on
const req = createRequire(fileURLToPath(import.meta.resolve("@y/websocket-server/utils")));
const WebSocket = req("ws");
const wss = new WebSocket.Server({ noServer: true });
const server = http.createServer((_q, r) => r.end("okay"));
wss.on("connection", setupWSConnection);
server.on("upgrade", (request, socket, head) =>
  wss.handleUpgrade(request, socket, head, (ws) => wss.emit("connection", ws, request)),
);
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(
    `${JSON.stringify({ peer: "ywebsocket", port: server.address().port, pid: process.pid, node: process.version })}\n`,
  );
});
const stop = () => {
  for (const c of wss.clients) c.terminate();
  for (const d of docs.values()) d.destroy();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
