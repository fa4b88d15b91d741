import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { describe, it } from "node:test";
import { startRedis } from "./redis.ts";

/** Sends inline commands to 127.0.0.1:`port`, then QUIT; returns the server's raw reply text. */
function ask(port: number, ...commands: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    let raw = "";
    socket.once("error", reject);
    socket.once("connect", () => socket.write([...commands, "QUIT"].map((c) => `${c}\r\n`).join("")));
    socket.on("data", (d) => {
      raw += d.toString("utf8");
    });
    socket.once("end", () => resolve(raw));
  });
}

describe("startRedis", () => {
  it("serves on loopback, comes back empty with a new run_id on restart, and cleans up", async () => {
    const redis = await startRedis();
    try {
      assert.match(redis.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(
        await ask(redis.port, "SET k v", "GET k", "CONFIG GET maxmemory-policy"),
        "+OK\r\n$1\r\nv\r\n*2\r\n$16\r\nmaxmemory-policy\r\n$10\r\nnoeviction\r\n+OK\r\n",
      );
      const runId = async () => (await ask(redis.port, "INFO server")).match(/run_id:(\w+)/)?.[1];
      const before = await runId();
      assert.ok(before);
      await redis.restart();
      assert.equal(await ask(redis.port, "GET k"), "$-1\r\n+OK\r\n");
      assert.notEqual(await runId(), before);
      await redis.kill();
      await assert.rejects(ask(redis.port, "PING"), /ECONNREFUSED/);
      await redis.restart();
      assert.equal(await ask(redis.port, "PING"), "+PONG\r\n+OK\r\n");
    } finally {
      await redis.stop();
    }
    assert.equal(existsSync(redis.dir), false);
  });
});
