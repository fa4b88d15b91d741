import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import {
  encodeSigningKey,
  encodeVerifierKey,
  generateSigningKey,
  keyIdOf,
  openNote,
  parseNote,
  parseSigningKey,
  parseVerifierKey,
  signNote,
  verifierKeyOf,
} from "../src/index.ts";
import { assertBadInput } from "./assert-bad-input.ts";
import {
  C2SP_NOTE,
  C2SP_POEM_NOTE,
  C2SP_VERIFIER_KEY,
  GO_NOTE,
  GO_NOTE_SIGNING_KEY,
  GO_NOTE_TEXT,
  GO_NOTE_VERIFIER_KEY,
} from "./vectors.ts";

describe("known answers from the Go reference and the C2SP spec", () => {
  test("the Go example key signs its example text into exactly the published note", () => {
    const key = parseSigningKey(GO_NOTE_SIGNING_KEY);
    assert.equal(key.keyId, "c74f20a3");
    assert.equal(encodeVerifierKey(verifierKeyOf(key)), GO_NOTE_VERIFIER_KEY);
    assert.equal(encodeSigningKey(key), GO_NOTE_SIGNING_KEY);
    assert.equal(signNote(GO_NOTE_TEXT, key), GO_NOTE);
    const opened = openNote(GO_NOTE, [GO_NOTE_VERIFIER_KEY]);
    assert.equal(opened.text, GO_NOTE_TEXT);
    assert.deepEqual(
      opened.signedBy.map((k) => k.keyId),
      ["c74f20a3"],
    );
  });

  test("the C2SP example verifier key opens the C2SP example note", () => {
    const v = parseVerifierKey(C2SP_VERIFIER_KEY);
    assert.equal(v.name, "example.com/foo");
    assert.equal(openNote(C2SP_NOTE, [v]).text, "This is an example message.\n");
  });

  test("the key ID is SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)[:4], computed here by hand", () => {
    const v = parseVerifierKey(C2SP_VERIFIER_KEY);
    const byHand = createHash("sha256")
      .update(Buffer.concat([Buffer.from("example.com/foo\n"), Buffer.from([1]), v.publicKey]))
      .digest()
      .subarray(0, 4)
      .toString("hex");
    assert.equal(byHand, "530d903a");
    assert.equal(keyIdOf(v.name, v.publicKey), byHand);
  });

  test("the text is split from the signatures at the last blank line", () => {
    const n = parseNote(C2SP_POEM_NOTE);
    assert.equal(n.text, "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n");
    assert.equal(n.signatures.length, 1);
    assert.equal(n.signatures[0]?.name, "quasimodo.example/salvatore");
    assert.equal(n.signatures[0]?.signature.length, 64);
  });
});

describe("signing and opening", () => {
  const a = generateSigningKey("databook.test");
  const b = generateSigningKey("witness.test");

  test("unknown-key signatures are ignored; one trusted signature is enough", () => {
    const note = signNote("hello\n", [b, a]);
    const opened = openNote(note, [verifierKeyOf(a)]);
    assert.equal(opened.unknown, 1);
    assert.deepEqual(
      opened.signedBy.map((k) => k.name),
      ["databook.test"],
    );
  });

  test("a key with the same name but another key ID is an unknown key, not a failure", () => {
    const impostor = generateSigningKey("databook.test");
    const note = signNote("hello\n", [impostor, a]);
    assert.equal(openNote(note, [verifierKeyOf(a)]).unknown, 1);
    assertBadInput(() => openNote(signNote("hello\n", impostor), [verifierKeyOf(a)]), /not signed by a trusted key/);
  });

  test("a changed text or a forged signature from a trusted key rejects the whole note", () => {
    const note = signNote("size 10\n", a);
    assertBadInput(() => openNote(note.replace("10", "11"), [verifierKeyOf(a)]), /does not verify/);
    const sigLine = note.split("\n\n")[1]!;
    const raw = Buffer.from(sigLine.split(" ")[2]!, "base64");
    raw[10]! ^= 1;
    const forged = `size 10\n\n— databook.test ${raw.toString("base64")}\n`;
    assertBadInput(
      () => openNote(forged, [verifierKeyOf(a)]),
      /signature by databook\.test\+[0-9a-f]{8} does not verify/,
    );
    // a good signature by another trusted key does not rescue a bad one
    assertBadInput(
      () => openNote(`${forged}${signNote("size 10\n", b).split("\n\n")[1]}`, [verifierKeyOf(a), verifierKeyOf(b)]),
      /does not verify/,
    );
  });

  test("malformed notes are refused with a message saying what is wrong", () => {
    const ok = signNote("t\n", a);
    const keys = [verifierKeyOf(a)];
    assertBadInput(() => openNote("t\n— x y\n", keys), /blank line/);
    assertBadInput(() => openNote(ok.slice(0, -1), keys), /ends with a newline/);
    assertBadInput(() => openNote(ok.replace("— ", "-- "), keys), /em dash/);
    assertBadInput(() => openNote(ok.replace("t\n", "t\r\n"), keys), /control character U\+000d/);
    assertBadInput(() => openNote(ok.replace("t\n", "\ud800\n"), keys), /lone surrogate/);
    assertBadInput(() => openNote("t\n\n— databook.test AAAA\n", keys), /too short/);
    assertBadInput(() => openNote("t\n\n— databook.test not!base64\n", keys), /not standard base64/);
    assertBadInput(() => openNote(ok, []), /no trusted key/);
    const many = `t\n\n${Array.from({ length: 101 }, () => ok.split("\n\n")[1]).join("")}`;
    assertBadInput(() => openNote(many, keys), /at most 100 signatures/);
    assertBadInput(() => signNote("no newline", a), /end with a newline/);
  });
});

describe("key text", () => {
  test("round-trips and rejects every malformed or mismatched key", () => {
    const k = generateSigningKey("databook.example.com");
    const text = encodeVerifierKey(verifierKeyOf(k));
    assert.match(text, /^databook\.example\.com\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/);
    assert.deepEqual(parseVerifierKey(text), verifierKeyOf(k));
    assert.equal(encodeSigningKey(parseSigningKey(encodeSigningKey(k))), encodeSigningKey(k));
    assertBadInput(() => parseVerifierKey("nokey"), /three parts/);
    assertBadInput(() => parseVerifierKey(text.replace(k.keyId, "00000000")), /key ID does not match/);
    // a fixed upper-case ID: a random one may have no letters, and upper-casing would change nothing
    assertBadInput(() => parseVerifierKey(text.replace(k.keyId, "ABCDEF12")), /8 lowercase hex/);
    assertBadInput(() => parseVerifierKey(`a b${text.slice(text.indexOf("+"))}`), /spaces/);
    assertBadInput(() => parseVerifierKey(`${text.split("+").slice(0, 2).join("+")}+AgAA`), /33/);
    assertBadInput(() => parseVerifierKey(GO_NOTE_VERIFIER_KEY.replace("+AR", "+Ah")), /not an Ed25519 key|canonical/);
    assertBadInput(() => parseSigningKey(text), /starts with "PRIVATE\+KEY\+"/);
    assertBadInput(() => generateSigningKey(""), /must not be empty/);
    assertBadInput(() => generateSigningKey("a+b"), /"\+"/);
  });
});
