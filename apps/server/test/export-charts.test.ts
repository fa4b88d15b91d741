// The export's charts, drawn for real (worker thread, @napi-rs/canvas, chart.js, the registered
// font) and read back pixel by pixel from the PNG.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, describe, it } from "node:test";
import { seriesColours } from "@databook/chart-config";
import type { Series, TimeseriesBody } from "@databook/wire";
import { createCanvas, loadImage } from "@napi-rs/canvas";
import { type ChartPng, closeChartRenderer, renderChartsPng } from "../src/export/charts/index.ts";

const T0 = Date.UTC(2025, 10, 29, 0, 0, 0);
const MIN = 60_000;

/** 121 samples (one per 30 s over an hour); `value(i)` gives each, as a Prometheus value string. */
function series(labels: Record<string, string>, value: (i: number) => string): Series {
  return {
    name: JSON.stringify(labels),
    labels,
    points: Array.from({ length: 121 }, (_, i) => [T0 + i * 30_000, value(i)] as [number, string]),
  };
}

// Three series far apart vertically; "gappy" is NaN from minute 20 to minute 30.
const BODY: TimeseriesBody = {
  resultType: "matrix",
  query: "rate(http_requests_total[5m])",
  range: { startMs: T0, endMs: T0 + 60 * MIN, stepMs: 30_000 },
  series: [
    series({ job: "api", code: "200" }, (i) => String(90 + Math.sin(i / 7))),
    series({ job: "api", code: "gappy" }, (i) => (i >= 40 && i <= 60 ? "NaN" : String(50 + Math.sin(i / 5)))),
    series({ job: "api", code: "500" }, (i) => String(10 + Math.cos(i / 9))),
  ],
};

/** RGBA pixels of a PNG, decoded by the same library that encoded it. */
async function pixels(png: Buffer): Promise<{ data: Uint8ClampedArray; width: number; height: number }> {
  const img = await loadImage(png);
  const c = createCanvas(img.width, img.height);
  const ctx = c.getContext("2d");
  ctx.drawImage(img, 0, 0);
  return { data: ctx.getImageData(0, 0, img.width, img.height).data, width: img.width, height: img.height };
}

function hex(colour: string): [number, number, number] {
  return [1, 3, 5].map((i) => Number.parseInt(colour.slice(i, i + 2), 16)) as [number, number, number];
}

/** The x pixels (columns) of the plot area in which some pixel is close to `colour`. */
function columnsWith(p: { data: Uint8ClampedArray; width: number }, chart: ChartPng, colour: string): Set<number> {
  const [r, g, b] = hex(colour);
  const cols = new Set<number>();
  const { left, top, right, bottom } = chart.plotArea;
  for (let y = Math.ceil(top); y < Math.floor(bottom); y++) {
    for (let x = Math.ceil(left); x < Math.floor(right); x++) {
      const k = (y * p.width + x) * 4;
      const d =
        Math.abs((p.data[k] as number) - r) +
        Math.abs((p.data[k + 1] as number) - g) +
        Math.abs((p.data[k + 2] as number) - b);
      if (d <= 24) cols.add(x);
    }
  }
  return cols;
}

after(closeChartRenderer);

describe("export charts", () => {
  it("draws each series in its page colour inside the plot area, and a NaN stretch as an x-span without it", async () => {
    const [chart] = await renderChartsPng([{ body: BODY }], { width: 800, height: 280, pixelRatio: 2 });
    assert.ok(chart);
    assert.equal(chart.width, 1600);
    assert.equal(chart.height, 560);
    assert.deepEqual(chart.png.subarray(0, 8), Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), "a PNG");
    const expected = seriesColours(
      BODY.series.map((s) => s.labels),
      "light",
    );
    assert.deepEqual(
      chart.series.map((s) => s.colour),
      expected,
      "the same colours the page uses",
    );
    assert.equal(chart.caption, '{job="api"}');
    assert.equal(chart.unit, "reqps");
    const p = await pixels(chart.png);
    const { left, right } = chart.plotArea;
    const xOf = (ms: number) => left + ((ms - T0) / (60 * MIN)) * (right - left);
    for (const [i, colour] of expected.entries()) {
      const cols = columnsWith(p, chart, colour);
      // Every series spans the plot: it shows in the first and last tenth.
      assert.ok(
        [...cols].some((x) => x < xOf(T0 + 6 * MIN)),
        `series ${i} near the start`,
      );
      assert.ok(
        [...cols].some((x) => x > xOf(T0 + 54 * MIN)),
        `series ${i} near the end`,
      );
    }
    const gappy = columnsWith(p, chart, expected[1] as string);
    const inGap = [...gappy].filter((x) => x > xOf(T0 + 20.5 * MIN) && x < xOf(T0 + 29.5 * MIN));
    assert.deepEqual(inGap, [], "nothing of the NaN series between minutes 20 and 30: not bridged, not drawn as 0");
    assert.ok(
      [...gappy].some((x) => x > xOf(T0 + 15 * MIN) && x < xOf(T0 + 19.5 * MIN)),
      "drawn right before the gap",
    );
    assert.ok(
      [...gappy].some((x) => x > xOf(T0 + 30.5 * MIN) && x < xOf(T0 + 35 * MIN)),
      "drawn right after the gap",
    );
    // The other series run straight through those minutes.
    for (const other of [expected[0], expected[2]] as string[]) {
      const cols = columnsWith(p, chart, other);
      assert.ok([...cols].filter((x) => x > xOf(T0 + 21 * MIN) && x < xOf(T0 + 29 * MIN)).length > 100);
    }
  });

  it("draws the axis labels in the registered font, the same bytes on every run", async () => {
    const first = await renderChartsPng([{ body: BODY }, { body: BODY, display: { unit: "bytes" } }], {
      pixelRatio: 1,
    });
    const again = await renderChartsPng([{ body: BODY }], { pixelRatio: 1 });
    const digest = (b: Buffer) => createHash("sha256").update(b).digest("hex");
    assert.equal(digest(first[0]?.png as Buffer), digest(again[0]?.png as Buffer));
    assert.equal(first[1]?.unit, "bytes");
    assert.notEqual(digest(first[0]?.png as Buffer), digest(first[1]?.png as Buffer), "unit labels differ");
    // Text left of the plot area (the value labels) is drawn: dark pixels on the white background.
    const chart = first[0] as ChartPng;
    const p = await pixels(chart.png);
    let ink = 0;
    for (let y = Math.ceil(chart.plotArea.top); y < chart.plotArea.bottom; y++)
      for (let x = 0; x < chart.plotArea.left - 4; x++) if ((p.data[(y * p.width + x) * 4] as number) < 160) ink++;
    assert.ok(ink > 50, `value labels drawn (${ink} dark pixels)`);
  });

  it("a legend template and an unknown unit reach the result; dark theme uses the dark palette", async () => {
    const [chart] = await renderChartsPng([{ body: BODY, display: { unit: "furlongs", legend: "HTTP {{code}}" } }], {
      theme: "dark",
      pixelRatio: 1,
    });
    assert.deepEqual(
      chart?.series.map((s) => s.legend),
      ["HTTP 200", "HTTP gappy", "HTTP 500"],
    );
    assert.equal(chart?.problems[0]?.kind, "bad-input");
    assert.match(chart?.problems[0]?.message ?? "", /@unit=furlongs/);
    assert.deepEqual(
      chart?.series.map((s) => s.colour),
      seriesColours(
        BODY.series.map((s) => s.labels),
        "dark",
      ),
    );
    const p = await pixels(chart?.png as Buffer);
    assert.deepEqual([...p.data.subarray(0, 3)], hex("#171b21"), "the dark background");
  });

  it("refuses what it cannot draw with bad-input, before any work", async () => {
    const vector: TimeseriesBody = { resultType: "vector", series: [] };
    await assert.rejects(renderChartsPng([{ body: BODY }, { body: vector }]), {
      kind: "bad-input",
      message: /chart 2 is not a range \(matrix\) result/,
    });
    await assert.rejects(renderChartsPng([{ body: BODY }], { width: 10 }), { kind: "bad-input", message: /width/ });
    await assert.rejects(renderChartsPng([{ body: BODY }], { width: 1e6 }), { kind: "bad-input" });
    await assert.rejects(renderChartsPng([{ body: BODY }], { pixelRatio: 100 }), { kind: "bad-input" });
    assert.deepEqual(await renderChartsPng([]), []);
  });

  it("draws on another thread: the caller's event loop stays free while a batch is drawn", async () => {
    await renderChartsPng([{ body: BODY }]); // the worker is up
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const t0 = performance.now();
    const done = await renderChartsPng(Array.from({ length: 12 }, () => ({ body: BODY })));
    const ms = performance.now() - t0;
    clearInterval(timer);
    assert.equal(done.length, 12);
    // A 1 ms timer on a free loop ticks about once per ms; drawing on this thread would leave it a
    // handful of ticks (one per await). A tenth is a wide margin for a busy machine.
    assert.ok(ticks >= ms / 10, `${ticks} timer ticks during ${ms.toFixed(0)} ms of drawing`);
  });
});
