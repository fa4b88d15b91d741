import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PluginError } from "./errors.ts";
import { readOptions } from "./options.ts";

function badInputMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PluginError, `expected a PluginError, got ${String(err)}`);
    assert.equal(err.kind, "bad-input");
    return err.message;
  }
  assert.fail("expected a bad-input error");
}

describe("readOptions", () => {
  it("rejects an option the plugin does not declare, listing the accepted ones", () => {
    const msg = badInputMessage(() => readOptions([["tpye", "instant"]], ["type", "time"]));
    assert.match(msg, /unknown option @tpye/);
    assert.match(msg, /@type, @time/);
  });

  it("rejects an option given twice", () => {
    assert.match(
      badInputMessage(() =>
        readOptions(
          [
            ["type", "a"],
            ["type", "b"],
          ],
          ["type"],
        ),
      ),
      /given twice/,
    );
  });

  it("accepts any option when no list is given", () => {
    assert.equal(readOptions([["anything", "x"]]).string("anything"), "x");
  });

  it("parses durations to milliseconds and explains a bad one", () => {
    const opts = readOptions([
      ["timeout", "1h30m"],
      ["bad", "5 minutes"],
    ]);
    assert.equal(opts.duration("timeout"), 5_400_000);
    assert.equal(opts.duration("absent"), undefined);
    assert.match(
      badInputMessage(() => opts.duration("bad")),
      /@bad '5 minutes' is not a duration.*30s, 15m/,
    );
  });

  it("parses times as RFC 3339, ms since epoch or now-relative", () => {
    const now = Date.UTC(2026, 10, 29, 12, 0, 0);
    const opts = readOptions([
      ["a", "2026-11-29T03:00:00Z"],
      ["b", "1764385200000"],
      ["c", "now-1h"],
      ["d", "tuesday"],
    ]);
    assert.equal(opts.time("a", now), Date.UTC(2026, 10, 29, 3));
    assert.equal(opts.time("b", now), 1764385200000);
    assert.equal(opts.time("c", now), now - 3_600_000);
    assert.match(
      badInputMessage(() => opts.time("d", now)),
      /@d/,
    );
  });

  it("checks whole numbers and their bounds", () => {
    const opts = readOptions([
      ["limit", "10"],
      ["neg", "-3"],
      ["frac", "1.5"],
      ["word", "ten"],
    ]);
    assert.equal(opts.integer("limit", { min: 1 }), 10);
    assert.match(
      badInputMessage(() => opts.integer("neg", { min: 1 })),
      /@neg="-3".*at least 1/,
    );
    assert.match(
      badInputMessage(() => opts.integer("frac")),
      /whole number/,
    );
    assert.match(
      badInputMessage(() => opts.integer("word", { min: 1, max: 5 })),
      /between 1 and 5/,
    );
  });

  it("restricts a value to a list of choices", () => {
    const opts = readOptions([
      ["type", "instant"],
      ["kind", "sideways"],
    ]);
    assert.equal(opts.oneOf("type", ["range", "instant"] as const), "instant");
    assert.match(
      badInputMessage(() => opts.oneOf("kind", ["up", "down"])),
      /@kind="sideways".*one of up, down/,
    );
  });

  it("reads booleans and rejects other words", () => {
    const opts = readOptions([
      ["a", "yes"],
      ["b", "false"],
      ["c", "maybe"],
    ]);
    assert.equal(opts.boolean("a"), true);
    assert.equal(opts.boolean("b"), false);
    assert.match(
      badInputMessage(() => opts.boolean("c")),
      /true or false/,
    );
  });

  it("keeps the options in the order written", () => {
    assert.deepEqual(
      readOptions([
        ["b", "1"],
        ["a", "2"],
      ]).entries(),
      [
        ["b", "1"],
        ["a", "2"],
      ],
    );
  });
});
