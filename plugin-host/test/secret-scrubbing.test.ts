import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  createLineScrubber,
  longestSecretForm,
  makeScrubber,
  REDACTED,
  secretValues,
  userInfoSecrets,
} from "../src/scrub.ts";

const SECRET = 'tok"en\\with\nnewline';

describe("secret scrubbing", () => {
  it("removes the raw, JSON-escaped (once and twice) and percent-encoded forms", () => {
    const scrub = makeScrubber([SECRET]);
    const once = JSON.stringify(SECRET).slice(1, -1);
    const twice = JSON.stringify(once).slice(1, -1);
    for (const form of [SECRET, once, twice, encodeURIComponent(SECRET)]) {
      assert.equal(scrub(`before ${form} after`), `before ${REDACTED} after`);
    }
  });

  it("leaves values shorter than four characters alone", () => {
    assert.equal(makeScrubber(["abc", "1"])("abc 1 abcd"), "abc 1 abcd");
  });

  it("never emits a line holding part of a secret split across writes and lines", () => {
    const scrub = makeScrubber([SECRET]);
    const lines: string[] = [];
    const out = createLineScrubber(scrub, longestSecretForm([SECRET]) - 1, (l) => lines.push(l));
    out.push('first line\nthe token is tok"en\\wi');
    out.push("th\nnew");
    out.push("line; done\nlast");
    out.end();
    assert.deepEqual(lines, ["first line", `the token is ${REDACTED}; done`, "last"]);
  });

  it("keeps public env values visible but the user info of URLs inside them secret", () => {
    const secrets = secretValues(
      [
        ["API_URL", "https://ops:p%40ss-w0rd@api.test:8443/base"],
        ["PLAIN_URL", "http://prometheus:9090"],
        ["TOKEN_URL", "https://ghp_tokenvalue@git.test/"],
        ["API_TOKEN", "tok-secret-1"],
      ],
      ["API_URL", "PLAIN_URL", "TOKEN_URL"],
    );
    const scrub = makeScrubber(secrets);
    assert.equal(
      scrub("https://ops:p%40ss-w0rd@api.test:8443/base http://prometheus:9090 tok-secret-1"),
      `https://${REDACTED}@api.test:8443/base http://prometheus:9090 ${REDACTED}`,
    );
    // The decoded password, and a token given as the user name, are secrets too; a user name
    // beside a password is not (it would erase ordinary words from outputs).
    assert.equal(scrub("password p@ss-w0rd, user ops"), `password ${REDACTED}, user ops`);
    assert.equal(scrub("https://ghp_tokenvalue@git.test/ ghp_tokenvalue"), `https://${REDACTED}@git.test/ ${REDACTED}`);
    assert.deepEqual(userInfoSecrets("no url here, or http://host/path@x"), []);
  });

  it("emits lines as they complete when there is no secret", () => {
    const lines: string[] = [];
    const out = createLineScrubber(makeScrubber([]), 0, (l) => lines.push(l));
    out.push("a\nb");
    assert.deepEqual(lines, ["a"]);
    out.push("c\n");
    assert.deepEqual(lines, ["a", "bc"]);
    out.end();
    assert.deepEqual(lines, ["a", "bc"]);
  });
});
