import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { REDACTED, redactUrl, scrub } from "./secrets.ts";

describe("scrub", () => {
  it("replaces every occurrence of every secret", () => {
    assert.equal(scrub("a s3cret b s3cret", ["s3cret"]), `a ${REDACTED} b ${REDACTED}`);
  });

  it("replaces the longer of two overlapping secrets whole", () => {
    assert.equal(scrub("token-abcdef", ["abcd", "token-abcdef"]), REDACTED);
  });

  it("ignores secrets too short to hide anything", () => {
    assert.equal(scrub("a b c", ["a", ""]), "a b c");
  });
});

describe("redactUrl", () => {
  it("drops user info from a URL and leaves other text alone", () => {
    assert.equal(redactUrl("http://bob:pw@prom.internal:9090/x"), "http://prom.internal:9090/x");
    assert.equal(redactUrl("not a url"), "not a url");
  });
});
