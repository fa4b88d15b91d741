import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  appendLeaf,
  consistencyProof,
  EMPTY_FRONTIER,
  EMPTY_ROOT,
  type Frontier,
  frontierFromBytes,
  frontierOf,
  frontierRoot,
  frontierToBytes,
  inclusionProof,
  leafHash,
  nodeHash,
  treeRoot,
  verifyConsistency,
  verifyInclusion,
} from "../src/index.ts";
import { assertBadInput } from "./assert-bad-input.ts";
import * as ref from "./rfc9162-reference.ts";
import { MERKLE_CONSISTENCY, MERKLE_INCLUSION, MERKLE_LEAVES_HEX, MERKLE_ROOTS_HEX } from "./vectors.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const b64 = (s: string) => new Uint8Array(Buffer.from(s, "base64"));
const published = MERKLE_LEAVES_HEX.map((h) => leafHash(Buffer.from(h, "hex")));

function flipBit(h: Uint8Array, bit: number): Uint8Array {
  const c = new Uint8Array(h);
  c[bit >> 3]! ^= 1 << (bit & 7);
  return c;
}

describe("RFC 6962 hashing against published vectors (transparency-dev/merkle)", () => {
  test("roots of the trees of 0..8 leaves", () => {
    for (let n = 0; n <= 8; n++) assert.equal(hex(treeRoot(n, published)), MERKLE_ROOTS_HEX[n], `size ${n}`);
    assert.equal(hex(EMPTY_ROOT), MERKLE_ROOTS_HEX[0]);
  });

  test("leaf and node hashing use the 0x00 / 0x01 prefixes", () => {
    assert.equal(hex(leafHash(new Uint8Array())), MERKLE_ROOTS_HEX[1]);
    assert.equal(hex(nodeHash(published[0]!, published[1]!)), MERKLE_ROOTS_HEX[2]);
  });

  test("published inclusion proofs are generated exactly and verify", () => {
    for (const v of MERKLE_INCLUSION) {
      const got = inclusionProof(v.leafIdx, v.treeSize, published).map((h) => Buffer.from(h).toString("base64"));
      assert.deepEqual(got, v.proof, `leaf ${v.leafIdx} of ${v.treeSize}`);
      const root = Buffer.from(MERKLE_ROOTS_HEX[v.treeSize]!, "hex");
      verifyInclusion(v.leafIdx, v.treeSize, published[v.leafIdx]!, v.proof.map(b64), root);
    }
  });

  test("published consistency proofs are generated exactly and verify", () => {
    for (const v of MERKLE_CONSISTENCY) {
      const got = consistencyProof(v.size1, v.size2, published).map((h) => Buffer.from(h).toString("base64"));
      assert.deepEqual(got, v.proof, `${v.size1} → ${v.size2}`);
      const [r1, r2] = [v.size1, v.size2].map((s) => Buffer.from(MERKLE_ROOTS_HEX[s]!, "hex")) as [Buffer, Buffer];
      verifyConsistency(v.size1, v.size2, r1, r2, v.proof.map(b64));
    }
  });
});

describe("against the reference implementation from the RFC text", () => {
  const data = Array.from({ length: 70 }, (_, i) => Buffer.from(`entry ${i}`));
  const leaves = data.map((d) => leafHash(d));

  test("roots, the frontier and inclusion proofs for every size 0..70 and every index", () => {
    let f: Frontier = EMPTY_FRONTIER;
    const cache = new Map();
    for (let n = 0; n <= data.length; n++) {
      const want = hex(ref.mth(data.slice(0, n)));
      assert.equal(hex(treeRoot(n, leaves)), want, `root ${n}`);
      assert.equal(hex(treeRoot(n, leaves, cache)), want, `cached root ${n}`);
      assert.equal(hex(frontierRoot(f)), want, `frontier root ${n}`);
      assert.deepEqual(frontierOf(n, leaves).hashes.map(hex), f.hashes.map(hex), `frontierOf ${n}`);
      for (let m = 0; m < n; m++) {
        const p = inclusionProof(m, n, (i) => leaves[i]!, cache);
        assert.deepEqual(p.map(hex), ref.path(m, data.slice(0, n)).map(hex), `path ${m} of ${n}`);
        verifyInclusion(m, n, leaves[m]!, p, Buffer.from(want, "hex"));
      }
      if (n < data.length) f = appendLeaf(f, leaves[n]!);
    }
  });

  test("consistency proofs for every pair m ≤ n ≤ 40", () => {
    const cache = new Map();
    for (let n = 0; n <= 40; n++) {
      for (let m = 0; m <= n; m++) {
        const p = consistencyProof(m, n, leaves, cache);
        assert.deepEqual(p.map(hex), ref.proof(m === n ? 0 : m, data.slice(0, n)).map(hex), `${m} → ${n}`);
        verifyConsistency(m, n, ref.mth(data.slice(0, m)), ref.mth(data.slice(0, n)), p);
      }
    }
  });

  test("every single-bit change, a dropped or added hash, and a wrong index/size/root fail", () => {
    const n = 13;
    const root = treeRoot(n, leaves);
    for (let m = 0; m < n; m++) {
      const p = inclusionProof(m, n, leaves);
      for (let j = 0; j < p.length; j++) {
        for (const bit of [0, 77, 255]) {
          const bad = p.map((h, i) => (i === j ? flipBit(h, bit) : h));
          assertBadInput(() => verifyInclusion(m, n, leaves[m]!, bad, root), /gives root/);
        }
      }
      assertBadInput(() => verifyInclusion(m, n, flipBit(leaves[m]!, 3), p, root), /gives root/);
      assertBadInput(() => verifyInclusion(m, n, leaves[m]!, p.slice(1), root), /has \d+ hashes; this one has/);
      assertBadInput(() => verifyInclusion(m, n, leaves[m]!, [...p, root], root), /has \d+ hashes; this one has/);
      assertBadInput(() => verifyInclusion(m, n, leaves[m]!, p, flipBit(root, 9)), /gives root/);
      if (m + 1 < n) assertBadInput(() => verifyInclusion(m + 1, n, leaves[m]!, p, root), /hashes|gives root/);
      // (the same path can fit a tree of n + 1 by shape; what binds the size is the root, signed with it)
      assertBadInput(() => verifyInclusion(m, n + 1, leaves[m]!, p, treeRoot(n + 1, leaves)), /hashes|gives root/);
    }
    for (let m = 1; m < n; m++) {
      const p = consistencyProof(m, n, leaves);
      const old = treeRoot(m, leaves);
      for (let j = 0; j < p.length; j++) {
        const bad = p.map((h, i) => (i === j ? flipBit(h, 100) : h));
        assertBadInput(() => verifyConsistency(m, n, old, root, bad), /does not/);
      }
      assertBadInput(() => verifyConsistency(m, n, flipBit(old, 1), root, p), /old root|does not/);
      assertBadInput(() => verifyConsistency(m, n, old, flipBit(root, 1), p), /new root/);
      assertBadInput(() => verifyConsistency(m, n, old, root, p.slice(0, -1)), /has \d+ hashes/);
      // a rewritten history: the old tree's last leaf changed
      const forged = leaves.slice(0, n).map((h, i) => (i === m - 1 ? leafHash("forged") : h));
      assertBadInput(
        () => verifyConsistency(m, n, old, treeRoot(n, forged), consistencyProof(m, n, forged)),
        /old root|does not/,
      );
    }
  });
});

describe("the frontier", () => {
  test("round-trips through bytes and resumes appending", () => {
    const leaves = Array.from({ length: 1000 }, (_, i) => leafHash(`e${i}`));
    let f: Frontier = EMPTY_FRONTIER;
    for (let i = 0; i < 777; i++) f = appendLeaf(f, leaves[i]!);
    const bytes = frontierToBytes(f);
    assert.equal(bytes.length, 32 * 4); // 777 = 512 + 256 + 8 + 1: four subtrees
    let resumed = frontierFromBytes(777, bytes);
    for (let i = 777; i < 1000; i++) resumed = appendLeaf(resumed, leaves[i]!);
    assert.equal(hex(frontierRoot(resumed)), hex(treeRoot(1000, leaves)));
    assert.equal(f.size, 777, "appendLeaf leaves its argument as it was");
  });

  test("rejects bytes that do not fit the size, and non-hash leaves", () => {
    assertBadInput(() => frontierFromBytes(6, new Uint8Array(32)), /6 leaves is 64 bytes, got 32/);
    assertBadInput(() => frontierFromBytes(-1, new Uint8Array()), /whole number/);
    assertBadInput(() => appendLeaf(EMPTY_FRONTIER, new Uint8Array(31)), /32 bytes/);
    assertBadInput(() => frontierRoot({ size: 3, hashes: [EMPTY_ROOT] }), /3 leaves has 2 hashes/);
  });
});

describe("bad input to the generators", () => {
  const leaves = [leafHash("a"), leafHash("b"), leafHash("c")];
  test("index out of range, m > n, too few leaves, raw bytes instead of hashes", () => {
    assertBadInput(() => inclusionProof(3, 3, leaves), /leaf index 3 is outside a tree of 3 leaves \(indices 0\.\.2\)/);
    assertBadInput(() => inclusionProof(0, 0, leaves), /outside the empty tree/);
    assertBadInput(() => inclusionProof(1.5, 3, leaves), /leaf index must be a whole number/);
    assertBadInput(() => consistencyProof(3, 2, leaves), /old tree size 3 is larger than new tree size 2/);
    assertBadInput(() => verifyConsistency(3, 2, EMPTY_ROOT, EMPTY_ROOT, []), /larger than/);
    assertBadInput(() => treeRoot(4, leaves), /needs 4 leaf hashes but only 3/);
    assertBadInput(() => treeRoot(2, [new Uint8Array(5), leaves[0]!]), /leaf hash 0 is not 32 bytes/);
    assertBadInput(() => verifyConsistency(0, 3, leafHash("x"), treeRoot(3, leaves), []), /empty root/);
    assertBadInput(() => verifyConsistency(2, 2, treeRoot(2, leaves), treeRoot(3, leaves), []), /rewritten/);
  });
});
