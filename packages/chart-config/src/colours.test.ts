import assert from "node:assert/strict";
import { test } from "node:test";
import { colourSlots, fnv1a, PALETTE, seriesColours, seriesIdentity } from "./colours.ts";

/** WCAG 2 relative luminance of a #rrggbb colour. */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

test("every colour is readable on its theme's chart background (WCAG: 3:1 for graphics)", () => {
  for (const c of PALETTE.light) assert.ok(contrast(c, "#ffffff") >= 3, `${c} on white: ${contrast(c, "#ffffff")}`);
  for (const c of PALETTE.dark) {
    assert.ok(contrast(c, "#171b21") >= 4.5, `${c} on the dark surface: ${contrast(c, "#171b21")}`);
    assert.ok(contrast(c, "#0f1216") >= 4.5, `${c} on the dark page`);
  }
  assert.equal(new Set(PALETTE.light).size, PALETTE.light.length);
  assert.equal(PALETTE.light.length, PALETTE.dark.length);
});

test("a series keeps its colour whatever else is in the chart and in whatever order", () => {
  const a = { job: "api", instance: "a" };
  const b = { job: "api", instance: "b" };
  const c = { job: "db", instance: "c" };
  const alone = seriesColours([a], "light")[0];
  const withOthers = seriesColours([c, b, a], "light");
  const reversed = seriesColours([a, b, c], "light");
  assert.equal(withOthers[2], reversed[0]);
  assert.equal(withOthers[1], reversed[1]);
  // a has no collision with b or c here, so it is its hash's colour in every chart.
  assert.equal(fnv1a(seriesIdentity(a)) % 16 === fnv1a(seriesIdentity(b)) % 16, false);
  assert.equal(alone, withOthers[2]);
});

test("the colour is the same across page loads: it depends only on the labels", () => {
  // Fixed expectations: a change here recolours every existing chart, so it must be deliberate.
  assert.equal(fnv1a(""), 0x811c9dc5);
  assert.equal(fnv1a("a"), 0xe40c292c);
  assert.equal(seriesIdentity({ __name__: "up", job: "api", instance: "a" }), '{instance="a", job="api"}');
  const slot = fnv1a('{instance="a", job="api"}') % 16;
  assert.equal(seriesColours([{ __name__: "up", job: "api", instance: "a" }], "dark")[0], PALETTE.dark[slot]);
});

test("the metric name does not change the colour: rate() of a counter keeps it", () => {
  const raw = seriesColours([{ __name__: "http_requests_total", code: "500" }], "light");
  const rated = seriesColours([{ code: "500" }], "light");
  assert.deepEqual(raw, rated);
});

test("collisions are settled by identity order, not by result order, and every slot is used first", () => {
  // Find three identities that want the same slot.
  const wanting = new Map<number, string[]>();
  for (let i = 0; i < 200; i++) {
    const id = `{shard="${i}"}`;
    const slot = fnv1a(id) % 16;
    wanting.set(slot, [...(wanting.get(slot) ?? []), id]);
  }
  const [slot, ids] = [...wanting].find(([, v]) => v.length >= 3) as [number, string[]];
  const three = ids.slice(0, 3);
  const sorted = [...three].sort();
  const forward = colourSlots(three);
  const backward = colourSlots([...three].reverse()).reverse();
  assert.deepEqual(forward, backward, "same colours whatever the order");
  assert.equal(forward[three.indexOf(sorted[0] as string)], slot, "the first in identity order keeps its slot");
  assert.equal(new Set(forward).size, 3, "colliding series get distinct colours");

  const all = colourSlots(Array.from({ length: 40 }, (_, i) => `{shard="${i}"}`));
  const counts = new Array(16).fill(0);
  for (const s of all) counts[s]++;
  assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `40 series over 16 slots: ${counts}`);
});
