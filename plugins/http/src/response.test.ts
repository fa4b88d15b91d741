import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeResponse } from "./response.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const base = { method: "GET", url: "http://ops.internal/x", status: 200, statusText: "OK" };

describe("describeResponse", () => {
  it("pretty-prints a JSON body and keeps only the useful headers", () => {
    const r = describeResponse({
      ...base,
      headers: [
        ["Content-Type", "application/json; charset=utf-8"],
        ["Set-Cookie", "session=secret"],
        ["X-Request-Id", "abc"],
        ["Server", "nginx"],
      ],
      bytes: enc('{"ok":true}'),
    });
    assert.equal(r.bodyKind, "json");
    assert.equal(r.body, '{\n  "ok": true\n}');
    assert.deepEqual(r.headers, [
      ["content-type", "application/json; charset=utf-8"],
      ["x-request-id", "abc"],
    ]);
    assert.equal(r.bodyBytes, 11);
    assert.equal(r.truncated, false);
  });

  it("shows every header but cookies with allHeaders", () => {
    const r = describeResponse({
      ...base,
      headers: [
        ["Server", "nginx"],
        ["Set-Cookie", "a=b"],
      ],
      bytes: enc(""),
      allHeaders: true,
    });
    assert.deepEqual(r.headers, [["server", "nginx"]]);
  });

  it("shows a JSON-typed body that does not parse as text", () => {
    const r = describeResponse({ ...base, headers: [["content-type", "application/json"]], bytes: enc("oops {") });
    assert.equal(r.bodyKind, "text");
    assert.equal(r.body, "oops {");
  });

  it("treats bytes that are not UTF-8 as binary and shows only their size", () => {
    const r = describeResponse({
      ...base,
      headers: [["content-type", "image/png"]],
      bytes: new Uint8Array([0x89, 0x50, 0xff]),
    });
    assert.deepEqual([r.bodyKind, r.body, r.bodyBytes], ["binary", "", 3]);
    const untyped = describeResponse({ ...base, headers: [], bytes: new Uint8Array([0xff, 0xfe]) });
    assert.equal(untyped.bodyKind, "binary");
  });

  it("cuts a long body without splitting a character", () => {
    const r = describeResponse({
      ...base,
      headers: [["content-type", "text/plain"]],
      bytes: enc("ab\u00e9cd"),
      maxBytes: 3,
    });
    assert.equal(r.truncated, true);
    assert.equal(r.body, "ab");
    assert.equal(r.bodyBytes, 6);
  });
});
