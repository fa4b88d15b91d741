import assert from "node:assert/strict";
import { connect, createServer, type Server } from "node:net";
import { describe, it } from "node:test";
import { startBalancer } from "./balancer.ts";

/** A TCP server on loopback that answers every connection with its `name` and then echoes. */
async function namedServer(name: string): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => {
    s.write(`${name}\n`);
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { server, port: (server.address() as { port: number }).port };
}

const close = (s: Server) => new Promise<void>((r) => s.close(() => r()));

/** Opens a connection through the balancer and reads its first line (the backend's name). */
function whoAnswers(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port });
    let got = "";
    s.on("data", (d) => {
      got += d.toString();
      if (got.includes("\n")) {
        s.destroy();
        resolve(got.split("\n")[0]!);
      }
    });
    s.on("close", () => resolve(got.split("\n")[0] ?? ""));
    s.on("error", reject);
  });
}

describe("startBalancer", () => {
  it("sends each new connection to the first backend that accepts, and back once it returns", async () => {
    const a = await namedServer("A");
    const b = await namedServer("B");
    const lb = await startBalancer([a.port, b.port]);
    try {
      assert.equal(await whoAnswers(lb.port), "A");
      await close(a.server);
      assert.equal(await whoAnswers(lb.port), "B", "A refuses: B takes the connection");
      const back = createServer((s) => s.end("A again\n"));
      await new Promise<void>((r) => back.listen(a.port, "127.0.0.1", () => r()));
      assert.equal(await whoAnswers(lb.port), "A again");
      await close(back);
      await close(b.server);
      assert.equal(await whoAnswers(lb.port), "", "no backend: the connection is closed");
    } finally {
      await lb.close();
      await close(a.server);
      await close(b.server);
    }
  });

  it("keeps what the client sent before the backend answered, and counts open connections", async () => {
    const a = await namedServer("A");
    const lb = await startBalancer([a.port]);
    try {
      const s = connect({ host: "127.0.0.1", port: lb.port });
      s.write("hello\n"); // sent at once: the balancer has not connected upstream yet
      let got = "";
      await new Promise<void>((resolve) =>
        s.on("data", (d) => {
          got += d.toString();
          if (got === "A\nhello\n") resolve();
        }),
      );
      assert.equal(lb.connections(a.port), 1);
      s.destroy();
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(lb.connections(a.port), 0);
    } finally {
      await lb.close();
      await close(a.server);
    }
  });
});
