/**
 * Draws a chart model's series and marks on a chart.js chart's canvas (a browser canvas or
 * @napi-rs/canvas alike). The lines are drawn here rather than by chart.js's line datasets: one
 * path per series straight from typed arrays, with samples that fall in the same pixel column
 * reduced to that column's first/min/max/last, which draws 50 × 1,000 points in a few ms.
 * chart.js still lays out and draws the axes and grid; it holds no datasets at all (each one,
 * even empty, costs chart.js about 0.4 ms of option resolution per draw).
 */
import type { Chart, Plugin } from "chart.js";
import type { ChartModel, ModelSeries } from "./model.ts";

/** 2D context calls used here; both the DOM's and @napi-rs/canvas's contexts have them. */
type Ctx = CanvasRenderingContext2D;
/** Maps a data value to a canvas pixel: `offset + value * scale`. */
type Affine = { offset: number; scale: number };

function affine(scale: { getPixelForValue(v: number): number }, a: number, b: number): Affine {
  const pa = scale.getPixelForValue(a);
  const pb = scale.getPixelForValue(b);
  const k = b === a ? 0 : (pb - pa) / (b - a);
  return { offset: pa - a * k, scale: k };
}

/**
 * Strokes one series: a gap at every non-finite value and wherever consecutive samples are more
 * than `gapMs` apart. Returns the pixel positions of samples with a gap on both sides (they get a
 * dot, or they would not show at all).
 */
function strokeSeries(ctx: Ctx, s: ModelSeries, px: Affine, py: Affine, gapMs: number): number[] {
  const { xs, ys } = s;
  const lone: number[] = [];
  let pen = false;
  let run = 0; // samples in the current unbroken segment
  let runX = 0;
  let runY = 0;
  let col = Number.NaN;
  let colN = 0;
  let colMin = 0;
  let colMax = 0;
  let colLast = 0;
  let prevX = Number.NEGATIVE_INFINITY;
  const flushColumn = () => {
    if (colN > 1) {
      ctx.lineTo(col, colMin);
      ctx.lineTo(col, colMax);
      ctx.lineTo(col, colLast);
    }
    colN = 0;
  };
  const endSegment = () => {
    flushColumn();
    if (pen && run === 1) lone.push(runX, runY);
    pen = false;
    run = 0;
  };
  ctx.beginPath();
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i] as number;
    const y = ys[i] as number;
    if (x - prevX > gapMs) endSegment();
    prevX = x;
    if (y - y !== 0) {
      endSegment();
      continue;
    }
    const X = px.offset + x * px.scale;
    const Y = py.offset + y * py.scale;
    const c = Math.round(X);
    run++;
    if (pen && c === col) {
      if (Y < colMin) colMin = Y;
      if (Y > colMax) colMax = Y;
      colLast = Y;
      colN++;
      continue;
    }
    flushColumn();
    if (pen) ctx.lineTo(X, Y);
    else {
      ctx.moveTo(X, Y);
      pen = true;
      runX = X;
      runY = Y;
    }
    col = c;
    colN = 1;
    colMin = Y;
    colMax = Y;
    colLast = Y;
  }
  endSegment();
  ctx.stroke();
  return lone;
}

function dots(ctx: Ctx, at: number[], r: number): void {
  if (at.length === 0) return;
  ctx.beginPath();
  for (let i = 0; i < at.length; i += 2) {
    const x = at[i] as number;
    const y = at[i + 1] as number;
    ctx.moveTo(x + r, y);
    ctx.arc(x, y, r, 0, Math.PI * 2);
  }
  ctx.fill();
}

/** ▲ at the top edge for +Inf, ▼ at the bottom for -Inf. */
function infMarkers(ctx: Ctx, s: ModelSeries, px: Affine, area: Chart["chartArea"]): void {
  ctx.beginPath();
  for (const [list, top] of [
    [s.posInf, true],
    [s.negInf, false],
  ] as const) {
    for (const ms of list) {
      const x = px.offset + ms * px.scale;
      if (x < area.left || x > area.right) continue;
      const y = top ? area.top + 1 : area.bottom - 1;
      const d = top ? 7 : -7;
      ctx.moveTo(x, y);
      ctx.lineTo(x - 4, y + d);
      ctx.lineTo(x + 4, y + d);
      ctx.closePath();
    }
  }
  ctx.fill();
}

/** The shaded stretch after the last sample, drawn under the lines. */
function drawAfterLastSample(ctx: Ctx, model: ChartModel, px: Affine, area: Chart["chartArea"]): void {
  const span = model.markers.afterLastSample;
  if (!span) return;
  const from = Math.max(area.left, px.offset + span.fromMs * px.scale);
  const to = Math.min(area.right, px.offset + span.toMs * px.scale);
  if (to <= from) return;
  ctx.fillStyle = model.theme.afterLastSample;
  ctx.fillRect(from, area.top, to - from, area.bottom - area.top);
}

/** The dashed "now" line with its label, drawn over the lines. */
function drawNow(ctx: Ctx, model: ChartModel, px: Affine, area: Chart["chartArea"], font: string): void {
  if (model.markers.nowMs === undefined) return;
  const x = Math.round(px.offset + model.markers.nowMs * px.scale) + 0.5;
  ctx.strokeStyle = model.theme.now;
  ctx.fillStyle = model.theme.now;
  ctx.lineWidth = 1;
  ctx.setLineDash([4, 3]);
  ctx.beginPath();
  ctx.moveTo(x, area.top);
  ctx.lineTo(x, area.bottom);
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.font = font;
  ctx.textBaseline = "top";
  ctx.textAlign = x > area.right - 30 ? "right" : "left";
  ctx.fillText("now", ctx.textAlign === "right" ? x - 3 : x + 3, area.top + 2);
}

/**
 * The chart.js plugin that draws `model`: background (when `background` is set: PNG export),
 * the after-last-sample shade, every series `visible` accepts with its lone-sample and optional
 * dots, ±Inf marks, and the now line. `font` is a CSS font string for the "now" label.
 */
export function modelPlugin(
  model: ChartModel,
  font: string,
  background: boolean,
  visible: (index: number) => boolean,
): Plugin<"line"> {
  return {
    id: "databookModel",
    beforeDraw(chart) {
      if (!background) return;
      const { ctx, width, height } = chart;
      ctx.save();
      ctx.fillStyle = model.theme.background;
      ctx.fillRect(0, 0, width, height);
      ctx.restore();
    },
    beforeDatasetsDraw(chart) {
      const { ctx, chartArea: area, scales } = chart;
      if (!scales.x) return;
      ctx.save();
      drawAfterLastSample(ctx, model, affine(scales.x, model.x.min, model.x.max), area);
      ctx.restore();
    },
    afterDatasetsDraw(chart) {
      const { ctx, chartArea: area, scales } = chart;
      if (!scales.x || !scales.y) return;
      const px = affine(scales.x, model.x.min, model.x.max);
      const py = affine(scales.y, 0, 1);
      const gapMs = model.stepMs === undefined ? Number.POSITIVE_INFINITY : model.stepMs * 1.5;
      ctx.save();
      ctx.beginPath();
      ctx.rect(area.left, area.top, area.right - area.left, area.bottom - area.top);
      ctx.clip();
      ctx.lineWidth = model.lineWidth;
      model.series.forEach((s, i) => {
        if (!visible(i)) return;
        ctx.strokeStyle = s.colour;
        ctx.fillStyle = s.colour;
        const lone = strokeSeries(ctx, s, px, py, gapMs);
        if (model.sampleDots) {
          const all: number[] = [];
          for (let k = 0; k < s.xs.length; k++) {
            const y = s.ys[k] as number;
            if (y - y === 0) all.push(px.offset + (s.xs[k] as number) * px.scale, py.offset + y * py.scale);
          }
          dots(ctx, all, 2.5);
        } else dots(ctx, lone, 2);
      });
      ctx.restore();
      ctx.save();
      model.series.forEach((s, i) => {
        if (!visible(i) || (s.posInf.length === 0 && s.negInf.length === 0)) return;
        ctx.fillStyle = s.colour;
        infMarkers(ctx, s, px, area);
      });
      drawNow(ctx, model, px, area, font);
      ctx.restore();
    },
  };
}
