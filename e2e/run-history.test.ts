import { expect, type Locator, type Page, test } from "@playwright/test";
import {
  addQueryCell,
  apiAs,
  cell,
  contextAs,
  createNotebook,
  editorOf,
  openNotebook,
  typeLines,
  waitForRun,
} from "./support/notebook.ts";

// Issue 12: every run can be opened from its cell and from the timeline; notes and key events
// carry the time they happened; corrections are new entries; viewers cannot write any of them.

/** Replaces the cell's source and runs it; resolves with the new run's id once it finished. */
async function rerun(page: Page, c: Locator, source: string, before: string | undefined): Promise<string> {
  await editorOf(c).click();
  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.press("Delete");
  await typeLines(page, source);
  await page.keyboard.press("ControlOrMeta+Enter");
  await expect(c).not.toHaveAttribute("data-shown-run", before ?? "none");
  await waitForRun(c);
  return (await c.getAttribute("data-shown-run")) as string;
}

/** The cell's top is below the sticky header and its bottom on screen. */
async function fullyInView(page: Page, c: Locator): Promise<void> {
  await expect
    .poll(async () => {
      const box = await c.boundingBox();
      const header = await page.locator("header.app-header").boundingBox();
      const vh = page.viewportSize()!.height;
      return box !== null && box.y >= (header?.y ?? 0) + (header?.height ?? 0) && box.y + box.height <= vh;
    })
    .toBe(true);
}

test("two editors and a viewer: past runs keep their output and range; the timeline opens a run; backdated notes, pins and corrections; the viewer cannot pin", async ({
  browser,
}) => {
  // three people, three runs, notes, a correction and a phone viewport: one long story
  test.setTimeout(120_000);
  const nb = await createNotebook("Run history", { roles: { bob: "editor", victor: "viewer" } });
  const alice = await contextAs(browser, "alice");
  const pa = await openNotebook(alice, nb.url);
  const c = await addQueryCell(pa, "@plugin=echo @range=5m\nfirst run");
  await pa.keyboard.press("ControlOrMeta+Enter");
  await waitForRun(c);
  const r1 = (await c.getAttribute("data-shown-run")) as string;
  const r2 = await rerun(pa, c, "@plugin=echo @range=15m\nsecond run", r1);
  const r3 = await rerun(pa, c, "@plugin=echo @range=1h\nthird run", r2);
  await expect(c.locator(".out")).toContainText("third run");
  // a long note below, so opening the run from the timeline has to scroll back up to it
  await pa.getByTestId("add-markdown").click();
  await pa.keyboard.type(Array.from({ length: 40 }, (_, i) => `Checked dashboard ${i}.\n`).join("\n"));
  await pa.getByRole("textbox", { name: "Notebook title" }).click(); // leave the cell

  // the viewer opens each past run and sees its own output and range
  const victor = await contextAs(browser, "victor");
  const pv = await openNotebook(victor, nb.url);
  const vc = cell(pv, 0);
  await expect(vc.locator(".out")).toContainText("third run");
  await vc.getByTestId("history-toggle").click();
  const items = vc.getByTestId("history-run");
  await expect(items).toHaveCount(3);
  await expect(items.nth(0)).toHaveAttribute("data-run-id", r3);
  await expect(items.nth(2)).toHaveAttribute("data-run-id", r1);
  const ranges = await vc.getByTestId("history-range").allTextContents();
  expect(new Set(ranges).size).toBe(3);
  for (const [i, [id, text]] of (
    [
      [r1, "first run"],
      [r2, "second run"],
    ] as const
  ).entries()) {
    await vc.locator(`[data-testid="history-run"][data-run-id="${id}"] button.row`).click();
    await expect(vc).toHaveAttribute("data-shown-run", id);
    await expect(vc.locator(".out")).toContainText(text);
    await expect(vc.locator(".out")).not.toContainText(i === 0 ? "second run" : "first run");
    const banner = vc.getByTestId("viewing-past");
    await expect(banner).toContainText(/run of \d\d:\d\d .* by Alice/);
    await expect(banner).toContainText(ranges[2 - i]!.replace(/ \S+$/, ""));
  }
  await vc.getByTestId("back-to-latest").click();
  await expect(vc).toHaveAttribute("data-shown-run", r3);
  await expect(vc.locator(".out")).toContainText("third run");

  // a timeline entry opens exactly its run, the cell fully in view below the sticky header
  await pv.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  const timeline = pv.getByRole("complementary", { name: "Timeline" });
  await timeline.locator(`[data-row-id="run:${r1}"] button.entry`).click();
  await expect(vc).toHaveAttribute("data-shown-run", r1);
  await expect(vc.locator(".out")).toContainText("first run");
  await fullyInView(pv, vc);
  // cells are named by their first heading or line (the query cell: its query's first line now)
  await expect(timeline.locator(`[data-row-id="run:${r1}"]`)).toContainText("in third run");

  // the viewer sees no pin or note controls, and the server refuses them anyway
  await expect(pv.getByTestId("add-note")).toHaveCount(0);
  await expect(pv.getByTestId("pin-run")).toHaveCount(0);
  await expect(pv.getByTestId("timeline-pin")).toHaveCount(0);
  const refused = await apiAs("victor", `/api/notebooks/${nb.id}/timeline/pins`, {
    method: "POST",
    body: { runId: r1, label: "mitigated" },
  });
  expect(refused.status).toBe(403);

  // bob pins the second run and writes a note backdated before the first run, in UTC
  const bob = await contextAs(browser, "bob");
  const pb = await openNotebook(bob, nb.url);
  const bc = cell(pb, 0);
  await bc.getByTestId("history-toggle").click();
  await bc.locator(`[data-testid="history-run"][data-run-id="${r2}"]`).getByTestId("pin-run").click();
  await bc.getByTestId("label-choice").selectOption("mitigated");
  await bc.getByRole("button", { name: "Pin as key event" }).click();
  await expect(bc.locator(`[data-testid="history-run"][data-run-id="${r2}"]`)).toContainText("pinned");

  const tb = pb.getByRole("complementary", { name: "Timeline" });
  if ((await tb.getByTestId("zone-toggle").textContent())?.trim() !== "UTC")
    await tb.getByTestId("zone-toggle").click();
  await expect(tb.getByTestId("zone-toggle")).toHaveText("UTC");
  const firstAt = Number(await tb.locator(`[data-row-id="run:${r1}"]`).getAttribute("data-event-at"));
  const noteAt = Math.floor((firstAt - 10 * 60_000) / 1000) * 1000;
  await tb.getByTestId("add-note").click();
  await tb.getByTestId("event-time").fill(new Date(noteAt).toISOString().slice(0, 19));
  await tb.getByTestId("label-choice").selectOption("detected");
  await tb.getByTestId("note-text").fill("first 5xx alerts");
  await tb.getByRole("button", { name: "Add note" }).click();
  const note = tb.locator('[data-category="note"]');
  await expect(note).toHaveCount(1);
  await expect(note).toHaveAttribute("data-event-at", String(noteAt));

  // a future time is refused with the server's reason
  await tb.getByTestId("add-note").click();
  await tb.getByTestId("event-time").fill(new Date(Date.now() + 3_600_000).toISOString().slice(0, 19));
  await tb.getByTestId("note-text").fill("not yet");
  await tb.getByRole("button", { name: "Add note" }).click();
  await expect(tb.getByRole("alert")).toContainText("is in the future");
  await tb.getByRole("button", { name: "Cancel" }).click();

  // alice corrects the note's label: a new entry; the note shows as corrected
  await pa.reload();
  const ta = pa.getByRole("complementary", { name: "Timeline" });
  await ta.locator('[data-category="note"]').getByTestId("correct").click();
  await ta.getByTestId("label-choice").selectOption("other");
  await ta.getByRole("textbox", { name: "Label text" }).fill("alerted");
  await ta.getByRole("button", { name: "Save correction" }).click();
  await expect(ta.locator('[data-category="note"]').getByTestId("changes")).toContainText("corrected");

  // the viewer sees them in event-time order, each with both times
  await pv.reload();
  const tv = pv.getByRole("complementary", { name: "Timeline" });
  const rows = tv.getByTestId("timeline-row");
  await expect(tv.locator('[data-category="note"]')).toContainText("alerted");
  await expect(tv.locator('[data-category="note"]')).toContainText("first 5xx alerts");
  await expect(tv.locator('[data-category="note"]').getByTestId("changes")).toContainText(
    /corrected \(label was “detected”\) by Alice/,
  );
  await expect(tv.locator('[data-category="note"]').getByTestId("written-time")).toBeVisible();
  const key = tv.locator('[data-category="key-event"]');
  await expect(key).toContainText("mitigated");
  await expect(key.getByTestId("written-time")).toBeVisible();
  const times = (await rows.evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-event-at"))))) as number[];
  expect(times).toEqual([...times].sort((a, b) => b - a));
  const ids = await rows.evaluateAll((els) => els.map((e) => e.getAttribute("data-row-id")));
  // newest first by event time: the key event sits at the pinned run's time, between the third
  // and the first run; the backdated note below every run
  const keyId = await key.getAttribute("data-row-id");
  expect(ids.indexOf(`run:${r3}`)).toBeLessThan(ids.indexOf(keyId));
  expect(ids.indexOf(keyId)).toBeLessThan(ids.indexOf(`run:${r1}`));
  expect(ids.indexOf(`run:${r3}`)).toBeLessThan(ids.indexOf(`run:${r1}`));
  const noteIdx = await tv
    .locator('[data-category="note"]')
    .evaluate((el) => [...el.parentElement!.children].indexOf(el));
  expect(noteIdx).toBeGreaterThan(ids.indexOf(`run:${r1}`));
  // filters: only notes
  for (const f of ["run", "action", "key-event", "access"]) await tv.getByTestId(`filter-${f}`).uncheck();
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toHaveAttribute("data-category", "note");

  // on a phone the timeline is one tap away: a sheet over the cells, opened from the corner button
  await pv.setViewportSize({ width: 390, height: 844 });
  await pv.reload();
  await expect(pv.getByTestId("timeline-side")).toHaveCount(0);
  await pv.getByTestId("timeline-fab").click();
  await expect(pv.getByRole("complementary", { name: "Timeline" })).toBeInViewport();
  await pv.getByRole("complementary", { name: "Timeline" }).locator(`[data-row-id="run:${r2}"] button.entry`).click();
  await expect(pv.getByTestId("timeline-side")).toHaveCount(0);
  await expect(cell(pv, 0)).toHaveAttribute("data-shown-run", r2);
  await expect(cell(pv, 0)).toBeInViewport();

  await alice.close();
  await bob.close();
  await victor.close();
});
