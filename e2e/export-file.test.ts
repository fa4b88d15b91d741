// The HTML postmortem opened from disk (a file: URL) in Chromium, as someone who was sent it
// would: the charts show each series' colour in the plot area, a NaN gap is a stretch without it,
// the legend is HTML text naming every series, and ~30 script-injection payloads stay inert text.
// Self-contained: the export is made by e2e/support/make-export.ts, not through the shared stack.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import { XSS_PAYLOADS } from "./support/xss-payloads.ts";

let dir: string;
let file: string;
let t0: number;

test.beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "databook-e2e-html-"));
  file = join(dir, "postmortem.html");
  const script = join(import.meta.dirname, "support", "make-export.ts");
  const printed = execFileSync(process.execPath, [script, file], { encoding: "utf8" });
  t0 = (JSON.parse(printed.trim().split("\n").at(-1) as string) as { t0: number }).t0;
});
test.afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Per legend entry of chart `index`: pixels of its colour in the plot area, and in the NaN gap's x-span. */
async function colourCounts(page: import("@playwright/test").Page, index: number, gap: [number, number]) {
  return page
    .locator("figure.chart")
    .nth(index)
    .evaluate(async (fig, [gapFrom, gapTo]) => {
      const img = fig.querySelector("img") as HTMLImageElement;
      await img.decode();
      const [left, top, right, bottom] = (fig.getAttribute("data-plot-area") ?? "").split(",").map(Number) as [
        number,
        number,
        number,
        number,
      ];
      const canvas = document.createElement("canvas");
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const ctx = canvas.getContext("2d") as CanvasRenderingContext2D;
      ctx.drawImage(img, 0, 0);
      const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      // the x axis spans the body's range: sample i of 0..60 at left + i/60 of the plot's width
      const x = (i: number) => left + ((right - left) * i) / 60;
      return [...fig.querySelectorAll("ul.legend li")].map((li) => {
        const hex = li.getAttribute("data-colour") as string;
        const want = [1, 3, 5].map((o) => Number.parseInt(hex.slice(o, o + 2), 16));
        let inPlot = 0;
        let inGap = 0;
        for (let yy = Math.ceil(top); yy < bottom; yy++)
          for (let xx = Math.ceil(left); xx < right; xx++) {
            const k = (yy * canvas.width + xx) * 4;
            if (want.every((v, c) => Math.abs((px[k + c] as number) - v) <= 2)) {
              inPlot++;
              // clear of the dots at the gap's two edges
              if (xx > x(gapFrom) + 12 && xx < x(gapTo) - 12) inGap++;
            }
          }
        return { legend: li.textContent ?? "", name: li.getAttribute("title") ?? "", colour: hex, inPlot, inGap };
      });
    }, gap);
}

test("the exported charts draw every series in its colour, leave the NaN gap empty and name every series in HTML", async ({
  page,
}) => {
  await page.goto(`file://${file}`);
  await expect(page.locator("h1")).toContainText("API 5xx spike");
  const figures = page.locator("figure.chart");
  await expect(figures).toHaveCount(3);
  // the seeded chart: series {code="200"}, {code="500"} (NaN from sample 20 to 29), {code="503"}
  const counts = await colourCounts(page, 0, [19, 30]);
  expect(counts.map((c) => c.name)).toEqual(['{code="200"}', '{code="500"}', '{code="503"}']);
  for (const c of counts) {
    expect(c.legend.length, `legend text of ${c.name}`).toBeGreaterThan(0);
    expect(c.inPlot, `${c.name} (${c.colour}) is drawn in the plot area`).toBeGreaterThan(200);
  }
  expect(new Set(counts.map((c) => c.colour)).size, "three distinct colours").toBe(3);
  const gapped = counts.find((c) => c.name === '{code="500"}')!;
  expect(gapped.inGap, "nothing of the NaN series between its last sample before the gap and the first after").toBe(0);
  const others = counts.filter((c) => c !== gapped);
  for (const c of others) expect(c.inGap, `${c.name} runs through the gap's x-span`).toBeGreaterThan(0);
  // the legend is text in the page, not part of the image
  const legend = figures.nth(0).locator("ul.legend li");
  await expect(legend).toHaveCount(3);
  await expect(legend.nth(1)).toHaveText(/500/);
  // the hostile chart's legend names its series by their (hostile) labels, as text
  const hostile = figures.nth(2).locator("ul.legend li");
  await expect(hostile).toHaveCount(3);
  for (let i = 0; i < 3; i++) await expect(hostile.nth(i)).toContainText(XSS_PAYLOADS[i] as string);
  expect(t0).toBeGreaterThan(0);
});

test("script-injection payloads in titles, markdown, sources, tables, logs and series stay inert in the export", async ({
  page,
}) => {
  const dialogs: string[] = [];
  const violations: string[] = [];
  const requests: string[] = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
  });
  page.on("request", (r) => {
    if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) requests.push(r.url());
  });
  await page.goto(`file://${file}`);
  await expect(page.locator("article.cell.md")).toHaveCount(XSS_PAYLOADS.length + 1);
  for (const [i, p] of XSS_PAYLOADS.entries()) {
    // every payload is on the page as text (markdown cells render it; raw HTML is shown as text)
    await expect(page.locator(`#cell-md${i}`)).toContainText(`Payload ${i}:`);
    await expect(
      page
        .locator("section.run")
        .filter({ hasText: p.replace(/\s+/g, " ").slice(0, 12) })
        .first(),
    ).toBeAttached();
  }
  const live = await page.evaluate(() => ({
    scripts: document.querySelectorAll('script:not([type="application/json"])').length,
    handlers: [...document.querySelectorAll("*")].filter((el) => [...el.attributes].some((a) => /^on/i.test(a.name)))
      .length,
    jsLinks: [...document.querySelectorAll("[href],[src],[action],[data]")].filter((el) =>
      ["href", "src", "action", "data"].some((a) => /^\s*(javascript|data:text)/i.test(el.getAttribute(a) ?? "")),
    ).length,
    frames: document.querySelectorAll("iframe,object,embed,form,base,meta[http-equiv=refresh],link,svg,math").length,
    styles: document.querySelectorAll("style").length,
    styled: document.querySelectorAll("[style]").length,
  }));
  expect(live).toEqual({ scripts: 0, handlers: 0, jsLinks: 0, frames: 0, styles: 1, styled: 0 });
  expect(dialogs).toEqual([]);
  expect(violations).toEqual([]);
  expect(requests).toEqual([]);
});
