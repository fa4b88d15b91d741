#!/usr/bin/env node
// The harness floor: a WebSocket relay that stores nothing and does no Yjs work. It answers each
// client's sync step 1 with an empty sync step 2 (so y-websocket providers report `synced`) and
// forwards every other binary message verbatim to the other clients of the same room (URL path).
// Whatever latency this peer shows is the cost of the clients, the sockets and the machine.
// Prints {"peer":"floor","port","pid"} on stdout once listening; SIGTERM stops it.
import http from "node:http";
import { WebSocketServer } from "ws";

const EMPTY_STEP2 = Uint8Array.from([0, 1, 2, 0, 0]); // sync, step 2, update of 2 bytes: no structs, no deletes
const rooms = new Map();
const server = http.createServer((_q, r) => r.end("floor"));
const wss = new WebSocketServer({ server, maxPayload: 64 * 1024 * 1024 });
wss.on("connection", (ws, req) => {
  const room = (req.url ?? "/").split("?")[0];
  if (!rooms.has(room)) rooms.set(room, new Set());
  const peers = rooms.get(room);
  peers.add(ws);
  ws.on("message", (data, isBinary) => {
    if (!isBinary) return;
    const b = data;
    if (b[0] === 0 && b[1] === 0) return ws.send(EMPTY_STEP2); // sync step 1: answer, do not relay
    for (const p of peers) if (p !== ws && p.readyState === 1) p.send(b);
  });
  ws.on("close", () => {
    peers.delete(ws);
    if (peers.size === 0) rooms.delete(room);
  });
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(
    `${JSON.stringify({ peer: "floor", port: server.address().port, pid: process.pid, node: process.version })}\n`,
  );
});
const stop = () => {
  for (const c of wss.clients) c.terminate();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
