import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  consistencyProof,
  formatCheckpoint,
  generateSigningKey,
  leafHash,
  openCheckpoint,
  parseCheckpoint,
  parseNote,
  signCheckpoint,
  treeRoot,
  verifierKeyOf,
  verifyCheckpointConsistency,
} from "../src/index.ts";
import { assertBadInput } from "./assert-bad-input.ts";
import { C2SP_CHECKPOINT } from "./vectors.ts";

const root = new Uint8Array(32).fill(7);

describe("checkpoint text (c2sp.org/tlog-checkpoint)", () => {
  test("the spec's example checkpoint parses", () => {
    const { text, signatures } = parseNote(C2SP_CHECKPOINT);
    const c = parseCheckpoint(text);
    assert.equal(c.origin, "example.com/behind-the-sofa");
    assert.equal(c.size, 20852163);
    assert.equal(Buffer.from(c.rootHash).toString("base64"), "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=");
    assert.deepEqual(c.extensions, []);
    assert.equal(signatures[0]?.name, "example.com/behind-the-sofa");
  });

  test("format and parse are inverses, extension lines included", () => {
    const c = { origin: "databook.test/n/abc", size: 42, rootHash: root, extensions: ["ext one", "two"] };
    const text = formatCheckpoint(c);
    assert.equal(text, `databook.test/n/abc\n42\n${Buffer.from(root).toString("base64")}\next one\ntwo\n`);
    assert.deepEqual(parseCheckpoint(text), c);
  });

  test("strict parsing: every deviation is refused and named", () => {
    const good = formatCheckpoint({ origin: "o.test/n/x", size: 10, rootHash: root, extensions: [] });
    const [, , r] = good.split("\n");
    assertBadInput(() => parseCheckpoint(good.slice(0, -1)), /ends with a newline/);
    assertBadInput(() => parseCheckpoint(`o.test\n10\n`), /three lines/);
    for (const size of ["010", "-1", "+1", "1e3", " 10", "10.0", "", "9007199254740992", "٣"]) {
      assertBadInput(() => parseCheckpoint(`o.test\n${size}\n${r}\n`), /tree size \(line 2\)/);
    }
    assertBadInput(() => parseCheckpoint("o.test\n0\nAAAA\n"), /decodes to 3 bytes, expected 32/);
    assertBadInput(
      () => parseCheckpoint(`o.test\n0\n${r?.replace("=", "")}\n`),
      /root hash \(line 3\) is not standard base64/,
    );
    assertBadInput(() => parseCheckpoint(`o test\n0\n${r}\n`), /origin \(line 1\).*spaces/);
    assertBadInput(() => parseCheckpoint(`o+test\n0\n${r}\n`), /origin \(line 1\)/);
    assertBadInput(() => parseCheckpoint(`\n0\n${r}\n`), /origin \(line 1\) must not be empty/);
    assertBadInput(() => parseCheckpoint(`o.test\n0\n${r}\n\nx\n`), /line 4 is empty/);
    assertBadInput(() => formatCheckpoint({ origin: "o", size: 1.5, rootHash: root, extensions: [] }), /whole number/);
    assertBadInput(
      () => formatCheckpoint({ origin: "o", size: 1, rootHash: root, extensions: ["a\nb"] }),
      /one non-empty line/,
    );
  });
});

describe("signed checkpoints", () => {
  const key = generateSigningKey("databook.test");
  const keys = [verifierKeyOf(key)];
  const leaves = Array.from({ length: 20 }, (_, i) => leafHash(`entry ${i}`));
  const at = (size: number, l = leaves) =>
    signCheckpoint({ origin: "databook.test/n/nb1", size, rootHash: treeRoot(size, l), extensions: [] }, key);

  test("open checks signature and origin", () => {
    const c = openCheckpoint(at(5), keys, "databook.test/n/nb1");
    assert.equal(c.size, 5);
    assert.equal(c.signedBy[0]?.keyId, key.keyId);
    assertBadInput(
      () => openCheckpoint(at(5), keys, "databook.test/n/other"),
      /is for log databook\.test\/n\/nb1, not/,
    );
    assertBadInput(
      () => openCheckpoint(at(5), [verifierKeyOf(generateSigningKey("databook.test"))]),
      /not signed by a trusted key/,
    );
  });

  test("consistency between an older and a newer checkpoint, and what it catches", () => {
    const older = at(7);
    const newer = at(20);
    const proof = consistencyProof(7, 20, leaves);
    const { older: o, newer: n } = verifyCheckpointConsistency(older, newer, proof, keys);
    assert.deepEqual([o.size, n.size], [7, 20]);
    // the server rewrote entry 3 after the older checkpoint and re-signed: no proof can link them
    const rewritten = leaves.map((h, i) => (i === 3 ? leafHash("rewritten") : h));
    assertBadInput(
      () => verifyCheckpointConsistency(older, at(20, rewritten), consistencyProof(7, 20, rewritten), keys),
      /does not rebuild the old root/,
    );
    // the log was cut back to 5 entries
    assertBadInput(() => verifyCheckpointConsistency(older, at(5), [], keys), /larger than the newer one/);
    // two logs
    const other = signCheckpoint(
      { origin: "databook.test/n/nb2", size: 20, rootHash: treeRoot(20, leaves), extensions: [] },
      key,
    );
    assertBadInput(() => verifyCheckpointConsistency(older, other, proof, keys), /is for log databook\.test\/n\/nb2/);
  });
});
