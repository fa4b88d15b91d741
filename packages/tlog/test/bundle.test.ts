import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { buildBundle, generateSigningKey, leafHash, verifierKeyOf, verifyBundle } from "../src/index.ts";
import { assertBadInput } from "./assert-bad-input.ts";
import { fixtureLog } from "./fixture-log.ts";
import { cases, checkpointOf } from "./tampered-bundles.ts";

describe("verifyBundle: the tamper matrix", () => {
  for (const c of cases()) {
    test(c.name, () => {
      const report = verifyBundle(c.bundle, c.keys, { olderCheckpoints: c.olderCheckpoints });
      if (!c.fails) {
        assert.equal(report.ok, true, report.ok ? "" : report.error.message);
        return;
      }
      assert.equal(report.ok, false, "a tampered bundle verified");
      if (report.ok) return;
      assert.deepEqual(report.item, c.fails.item, report.error.message);
      assert.equal(report.error.kind, "bad-input");
      assert.match(report.error.message, c.fails.message);
    });
  }
});

describe("verifyBundle reports", () => {
  const [whole, some] = cases();

  test("what an honest bundle proves", () => {
    const r = verifyBundle(JSON.stringify(whole!.bundle), whole!.keys);
    assert.ok(r.ok);
    assert.equal(r.treeSize, 41);
    assert.equal(r.entries, 41);
    assert.equal(r.outputs, 20);
    assert.equal(r.wholeTree, true);
    assert.match(r.signedBy[0] ?? "", /^databook\.test\+[0-9a-f]{8}$/);
    const s = verifyBundle(some!.bundle, some!.keys);
    assert.ok(s.ok);
    assert.equal(s.wholeTree, false);
    assert.equal(s.outputs, 2); // seqs 5 and 7 are run.finished entries
  });

  test("messages name the item first", () => {
    const c = cases().find((x) => x.name === "changed entry bytes")!;
    const r = verifyBundle(c.bundle, c.keys);
    assert.ok(!r.ok);
    assert.match(r.error.message, /^entry seq 11: leaf 10 with this proof gives root/);
    const o = cases().find((x) => x.name === "swapped output content types")!;
    const ro = verifyBundle(o.bundle, o.keys);
    assert.ok(!ro.ok);
    assert.match(ro.error.message, /^output [0-9a-f]{64} \(entry seq 3\): it is listed as/);
  });

  test("a malformed trusted key or no key at all is named", () => {
    const r = verifyBundle(whole!.bundle, [whole!.keys[0]!, "garbage"]);
    assert.ok(!r.ok);
    assert.deepEqual(r.item, { kind: "key", index: 1 });
    const none = verifyBundle(whole!.bundle, []);
    assert.ok(!none.ok);
    assert.match(none.error.message, /no trusted key given/);
    const notJson = verifyBundle("{", whole!.keys);
    assert.ok(!notJson.ok);
    assert.deepEqual(notJson.item, { kind: "bundle" });
  });

  test("a hostile bundle with odd member types is refused, not crashed on", () => {
    const b = whole!.bundle;
    for (const bad of [
      null,
      [],
      { ...b, entries: {} },
      { ...b, entries: [null] },
      { ...b, entries: [{ ...b.entries[0], seq: "1" }] },
      { ...b, entries: [{ ...b.entries[0], inclusionProof: [1] }] },
      { ...b, outputs: [7] },
      { ...b, outputs: [{ sha256: "AB".repeat(32), contentType: "x" }] },
      { ...b, consistency: [{ fromSize: -1, proof: [] }] },
      { ...b, checkpoint: 5 },
      { ...b, entries: [{ ...b.entries[0], canonical: "[]" }] },
      { ...b, entries: [{ ...b.entries[0], canonical: "not json" }] },
    ]) {
      const r = verifyBundle(bad, whole!.keys);
      assert.equal(r.ok, false, JSON.stringify(bad).slice(0, 80));
    }
  });

  test("a custom entry reader decides what an entry references", () => {
    const r = verifyBundle(whole!.bundle, whole!.keys, {
      readEntry: (c) => ({ notebookId: "nb-1", seq: JSON.parse(c).seq, outputs: [] }),
    });
    assert.ok(!r.ok, "with no references, every listed output is unproved");
    assert.equal(r.item.kind, "output");
  });
});

describe("buildBundle refuses to build what would not verify", () => {
  const key = generateSigningKey("databook.test");
  const log = fixtureLog("nb-1", 3);
  const leaves = log.canonical.map((c) => leafHash(c));
  const checkpoint = checkpointOf(log, key, 7);
  const base = { notebookId: "nb-1", checkpoint, verifierKeys: [verifierKeyOf(key)], leaves, outputs: [] };

  test("stale leaves, a changed entry, an entry past the checkpoint, a foreign key, another notebook", () => {
    const stale = leaves.map((h, i) => (i === 2 ? leafHash("x") : h));
    assertBadInput(() => buildBundle({ ...base, leaves: stale, entries: [] }), /do not give the checkpoint's root/);
    assertBadInput(
      () => buildBundle({ ...base, entries: [{ seq: 2, canonical: `${log.canonical[1]} ` }] }),
      /entry seq 2: its canonical form does not hash to leaf 1/,
    );
    assertBadInput(() => buildBundle({ ...base, entries: [{ seq: 8, canonical: "{}" }] }), /newer than the checkpoint/);
    assertBadInput(
      () => buildBundle({ ...base, verifierKeys: [verifierKeyOf(generateSigningKey("x.test"))], entries: [] }),
      /not signed by a trusted key/,
    );
    assertBadInput(() => buildBundle({ ...base, notebookId: "nb-9", entries: [] }), /does not end in \/n\/nb-9/);
    const one = { seq: 1, canonical: log.canonical[0]! };
    assertBadInput(() => buildBundle({ ...base, entries: [one, one] }), /entry seq 1 is given twice/);
    assertBadInput(() => buildBundle({ ...base, entries: [{ seq: 0, canonical: "{}" }] }), /whole number ≥ 1, got 0/);
  });

  test("sorts entries by seq", () => {
    const b = buildBundle({
      ...base,
      entries: [3, 1, 2].map((seq) => ({ seq, canonical: log.canonical[seq - 1]! })),
      outputs: [log.outputs[0]!],
    });
    assert.deepEqual(
      b.entries.map((e) => e.seq),
      [1, 2, 3],
    );
    assert.ok(verifyBundle(b, [verifierKeyOf(key)]).ok);
  });
});
