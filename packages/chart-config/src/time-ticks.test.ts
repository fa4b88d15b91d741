import assert from "node:assert/strict";
import { test } from "node:test";
import { checkZone, chooseTimeStep, formatInstant, timeTickLabels, timeTicks, zoneOffsetMs } from "./time-ticks.ts";

const M = 60_000;
const H = 60 * M;
const D = 24 * H;
const at = (iso: string) => Date.parse(iso);
function labels(startIso: string, endIso: string, zone: string, maxTicks: number): string[] {
  const [s, e] = [at(startIso), at(endIso)];
  return timeTickLabels(timeTicks(s, e, zone, maxTicks), s, e, zone);
}

test("the step is the smallest on the ladder that fits the tick budget", () => {
  assert.equal(chooseTimeStep(H, 16), 5 * M);
  assert.equal(chooseTimeStep(H, 4), 30 * M);
  assert.equal(chooseTimeStep(H, 5), 15 * M);
  assert.equal(chooseTimeStep(15 * M, 9), 2 * M);
  assert.equal(chooseTimeStep(7 * D, 8), D);
  assert.equal(chooseTimeStep(365 * D, 8), 8 * 7 * D);
});

test("an hour from an odd start ticks on round five minutes, evenly", () => {
  const start = at("2025-11-29T07:14:37Z");
  const { stepMs, ticks } = timeTicks(start, start + H, "UTC", 13);
  assert.equal(stepMs, 5 * M);
  assert.deepEqual(labels("2025-11-29T07:14:37Z", "2025-11-29T08:14:37Z", "UTC", 13).slice(0, 4), [
    "07:15",
    "07:20",
    "07:25",
    "07:30",
  ]);
  for (let i = 1; i < ticks.length; i++) assert.equal((ticks[i] as number) - (ticks[i - 1] as number), stepMs);
  assert.ok((ticks[0] as number) >= start && (ticks.at(-1) as number) <= start + H);
});

test("ticks are round in the zone, not in UTC: New York, Kolkata (+05:30), Kathmandu (+05:45)", () => {
  assert.deepEqual(labels("2025-11-29T00:00:00Z", "2025-11-29T01:00:00Z", "America/New_York", 16).slice(0, 2), [
    "19:00",
    "19:05",
  ]);
  // 00:00 UTC is 05:30 in Kolkata: hourly ticks fall on 06:00, 07:00, not on 05:30.
  assert.deepEqual(labels("2025-11-29T00:00:00Z", "2025-11-29T06:00:00Z", "Asia/Kolkata", 7), [
    "06:00",
    "07:00",
    "08:00",
    "09:00",
    "10:00",
    "11:00",
  ]);
  // 00:00 UTC is 05:45 in Kathmandu: half-hour ticks at 06:00 and 06:30.
  assert.deepEqual(labels("2025-11-29T00:00:00Z", "2025-11-29T01:00:00Z", "Asia/Kathmandu", 3), ["06:00", "06:30"]);
  assert.equal(zoneOffsetMs(at("2025-11-29T00:00:00Z"), "Asia/Kathmandu"), 5 * H + 45 * M);
});

test("across spring-forward, half-hour ticks stay evenly spaced; 6-hour ticks stay on 06:00, 12:00", () => {
  // Los Angeles skips 02:00–03:00 on 2025-03-09 (10:00 UTC).
  const s = at("2025-03-09T08:00:00Z");
  const e = at("2025-03-09T12:00:00Z");
  const half = timeTicks(s, e, "America/Los_Angeles", 10);
  assert.equal(half.stepMs, 30 * M);
  for (let i = 1; i < half.ticks.length; i++)
    assert.equal((half.ticks[i] as number) - (half.ticks[i - 1] as number), 30 * M);
  assert.deepEqual(timeTickLabels(half, s, e, "America/Los_Angeles"), [
    "00:00",
    "00:30",
    "01:00",
    "01:30",
    "03:00",
    "03:30",
    "04:00",
    "04:30",
    "05:00",
  ]);
  const day = labels("2025-03-08T08:00:00Z", "2025-03-10T07:00:00Z", "America/Los_Angeles", 9);
  assert.deepEqual(day, ["8 Mar", "06:00", "12:00", "18:00", "9 Mar", "06:00", "12:00", "18:00", "10 Mar"]);
});

test("across fall-back, the repeated hour gets its ticks too, evenly", () => {
  // 2025-11-02 01:00–02:00 happens twice in Los Angeles.
  const s = at("2025-11-02T08:00:00Z");
  const t = timeTicks(s, s + 2 * H, "America/Los_Angeles", 5);
  assert.equal(t.stepMs, 30 * M);
  assert.deepEqual(timeTickLabels(t, s, s + 2 * H, "America/Los_Angeles"), [
    "01:00",
    "01:30",
    "01:00",
    "01:30",
    "02:00",
  ]);
});

test("ranges over several days put the date at midnight; long steps fall on days and Mondays", () => {
  assert.deepEqual(labels("2025-11-28T18:00:00Z", "2025-11-29T06:00:00Z", "UTC", 4), ["18:00", "29 Nov", "06:00"]);
  assert.deepEqual(labels("2025-11-01T00:00:00Z", "2025-11-08T00:00:00Z", "UTC", 8), [
    "1 Nov",
    "2 Nov",
    "3 Nov",
    "4 Nov",
    "5 Nov",
    "6 Nov",
    "7 Nov",
    "8 Nov",
  ]);
  // 2025-11-03 and 2025-11-10 are Mondays.
  assert.deepEqual(labels("2025-11-01T00:00:00Z", "2025-11-30T00:00:00Z", "UTC", 6), [
    "3 Nov",
    "10 Nov",
    "17 Nov",
    "24 Nov",
  ]);
  assert.deepEqual(labels("2025-11-29T00:00:05Z", "2025-11-29T00:01:00Z", "UTC", 7), [
    "00:00:10",
    "00:00:20",
    "00:00:30",
    "00:00:40",
    "00:00:50",
    "00:01:00",
  ]);
});

test("an empty or reversed range has no ticks; zones are checked", () => {
  assert.deepEqual(timeTicks(10, 5, "UTC", 5).ticks, []);
  assert.deepEqual(checkZone("Europe/Berlin"), { zone: "Europe/Berlin" });
  const bad = checkZone("Mars/Olympus");
  assert.ok("error" in bad && bad.error.kind === "bad-input" && /Mars\/Olympus/.test(bad.error.message));
});

test("instants for tooltips carry seconds, and the date when they are not today in the zone", () => {
  const t = at("2025-11-29T07:14:37Z");
  assert.equal(formatInstant(t, "UTC", at("2025-11-29T23:59:00Z")), "07:14:37");
  // the day before, read the next morning: the date says so
  assert.equal(formatInstant(t, "UTC", at("2025-11-30T00:30:00Z")), "2025-11-29 07:14:37");
  // in Tokyo it is already 16:14 on the 29th, today there even when UTC's today is the 29th too
  assert.equal(formatInstant(t, "Asia/Tokyo", at("2025-11-29T10:00:00Z")), "16:14:37");
  // Los Angeles: 23:14 on the 28th; at 09:00 UTC on the 29th it is 01:00 on the 29th there
  assert.equal(formatInstant(t, "America/Los_Angeles", at("2025-11-29T09:00:00Z")), "2025-11-28 23:14:37");
  // the same instant and clock, yet UTC's today: no date
  assert.equal(formatInstant(t, "UTC", at("2025-11-29T09:00:00Z")), "07:14:37");
});
