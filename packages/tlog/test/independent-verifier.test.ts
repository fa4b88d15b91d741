import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { describeItem, openCheckpoint, verifyBundle } from "../src/index.ts";
import { independentVerify } from "./independent-verifier.ts";
import { cases } from "./tampered-bundles.ts";

const here = new URL(".", import.meta.url);
const doc = readFileSync(new URL("../../../docs/incident-log.md", here), "utf8");

/** Runs both verifiers; returns what each says (ok, or the name of the failing item). */
function both(bundle: unknown, keys: string[], older: string[] = []): { pkg: string; ind: string; why: string } {
  const r = verifyBundle(bundle, keys, { olderCheckpoints: older });
  const i = independentVerify(bundle, keys, older);
  return {
    pkg: r.ok ? "ok" : describeItem(r.item),
    ind: i.ok ? "ok" : i.item,
    why: `${r.ok ? "" : r.error.message} | ${i.ok ? "" : i.why}`,
  };
}

describe("the independent verifier (written from docs/incident-log.md alone)", () => {
  test("imports nothing but Node built-ins", () => {
    const src = readFileSync(new URL("independent-verifier.ts", here), "utf8");
    const imports = [...src.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]);
    assert.ok(imports.length > 0);
    for (const from of imports) assert.match(from ?? "", /^node:/, `it imports ${from}`);
  });

  test("the doc's example checkpoint verifies with the doc's example key, in both", () => {
    const block = /## Checkpoints[\s\S]*?```\n([\s\S]*?)```/.exec(doc)?.[1];
    const vkey = /whose verifier key is\s+`([^`]+)`/.exec(doc)?.[1];
    assert.ok(block && vkey, "the doc has its example");
    const cp = openCheckpoint(block, [vkey]);
    assert.equal(Buffer.from(cp.rootHash).toString("hex"), /have the root\s+`([0-9a-f]{64})`/.exec(doc)?.[1]);
    assert.equal(cp.origin, "databook.example.com/n/V1StGXR8_Z5jdHi6B-myT");
    // a one-entry-free bundle around it: nothing to include, the checkpoint alone must open
    const bundle = {
      format: "databook-proof-bundle/1",
      notebookId: "V1StGXR8_Z5jdHi6B-myT",
      origin: cp.origin,
      verifierKeys: [vkey],
      checkpoint: block,
      entries: [],
      outputs: [],
    };
    assert.deepEqual(both(bundle, [vkey]), { pkg: "ok", ind: "ok", why: " | " });
    const forged = { ...bundle, checkpoint: block.replace("\n8\n", "\n9\n") };
    const r = both(forged, [vkey]);
    assert.equal(r.pkg, "checkpoint");
    assert.equal(r.ind, "checkpoint");
  });

  for (const c of cases()) {
    test(`agrees with the package: ${c.name}`, () => {
      const r = both(c.bundle, c.keys, c.olderCheckpoints);
      assert.equal(r.ind, r.pkg, r.why);
      assert.equal(r.pkg === "ok", c.fails === undefined, r.why);
    });
  }

  test("agrees on 400 random single-character mutations of an honest bundle", () => {
    const [honest] = cases();
    assert.ok(honest);
    const text = JSON.stringify(honest.bundle);
    let seed = 1234567;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = '0123456789abcdefABCDEF+/=:,"{}[] \\n-';
    let failed = 0;
    for (let k = 0; k < 400; k++) {
      const at = rand(text.length);
      const mutated = text.slice(0, at) + alphabet[rand(alphabet.length)] + text.slice(at + 1);
      const r = both(mutated, honest.keys);
      assert.equal(r.ind, r.pkg, `mutation at ${at}: ${r.why}`);
      if (r.pkg !== "ok") failed++;
    }
    assert.ok(failed > 300, `most mutations must be caught (caught ${failed} of 400)`);
  });

  test("agrees when whole members are swapped between two honest bundles", () => {
    const [a, b] = cases();
    assert.ok(a && b);
    for (const member of ["checkpoint", "entries", "outputs", "origin", "notebookId"] as const) {
      const mixed = { ...a.bundle, [member]: b.bundle[member] };
      const r = both(mixed, a.keys);
      assert.equal(r.ind, r.pkg, `${member}: ${r.why}`);
    }
  });
});
