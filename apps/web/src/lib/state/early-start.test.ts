import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import { PROTOCOL_VERSION } from "@databook/wire";
import * as encoding from "lib0/encoding";
import * as syncProtocol from "y-protocols/sync";
import * as Y from "yjs";

// app.html's first script cannot import @databook/wire: it spells the protocol version out. If it
// drifts, early-start.ts refuses the socket and the page opens a new one (slower, still correct).
const html = readFileSync(new URL("../../app.html", import.meta.url), "utf8");

it("app.html opens the notebook socket with the wire's protocol version", () => {
  const v = /const v = (\d+); \/\/ @databook\/wire PROTOCOL_VERSION/.exec(html);
  assert.ok(v, "app.html names the protocol version it connects with");
  assert.equal(Number(v[1]), PROTOCOL_VERSION);
});

it("app.html starts the same requests the notebook page makes", () => {
  assert.match(html, /\/ws\/notebooks\/\$\{id\}\?v=\$\{v\}/, "y-websocket's URL: <base>/<room>?v=<version>");
  assert.match(html, /fetch\(`\/api\/notebooks\/\$\{id\}`/, "api.getNotebook's path");
});

it("app.html's first message is y-websocket's sync step 1 for an empty document", () => {
  const sent = /ws\.send\(new Uint8Array\(\[([\d, ]+)\]\)\)/.exec(html);
  assert.ok(sent, "app.html sends sync step 1 once the socket opens");
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, 0); // y-websocket's messageSync
  syncProtocol.writeSyncStep1(encoder, new Y.Doc());
  assert.deepEqual(sent[1]!.split(",").map(Number), [...encoding.toUint8Array(encoder)]);
});
