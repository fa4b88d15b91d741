import { readFile } from "node:fs/promises";
import { FIXTURE_END_MS, FIXTURE_START_MS } from "@databook/test-services";
import { expect, test } from "@playwright/test";
import {
  addQueryCell,
  cell,
  contextAs,
  createNotebook,
  editorOf,
  openNotebook,
  sourceOf,
  waitForRun,
} from "./support/notebook.ts";

const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

test("a viewer (signed in, no role of their own) sees nothing that edits and cannot type or run; a reload keeps cells, outputs and the timeline; the export holds the run", async ({
  browser,
}) => {
  const nb = await createNotebook("Viewer mode");
  const editor = await contextAs(browser, "alice");
  const pe = await openNotebook(editor, nb.url);
  const query = `rate(fixture_requests_total{code="500"}[5m])`;
  const c = await addQueryCell(
    pe,
    `@plugin=prometheus @start=${iso(FIXTURE_START_MS)} @end=${iso(FIXTURE_END_MS)}\n${query}`,
  );
  await pe.keyboard.press("ControlOrMeta+Enter");
  await waitForRun(c);
  await expect(c).toHaveAttribute("data-status", "done");

  const viewer = await contextAs(browser, "victor");
  const pv = await openNotebook(viewer, nb.url);
  const vc = cell(pv, 0);
  await expect(pv.getByTestId("connection")).toHaveText("Following live");
  await expect(vc.locator("canvas")).toBeVisible();

  // No way to change anything: the editor is not editable, no run/add/move/delete controls.
  await expect(editorOf(vc)).toHaveAttribute("contenteditable", "false");
  await expect(pv.getByRole("button", { name: /Run/ })).toHaveCount(0);
  await expect(pv.getByTestId("add-query")).toHaveCount(0);
  await expect(pv.getByRole("button", { name: "Delete cell" })).toHaveCount(0);
  await expect(pv.getByRole("textbox", { name: "Notebook title" })).toHaveCount(0);
  await expect(pv.getByRole("button", { name: "Share", exact: true })).toHaveCount(0);
  await expect(pv.getByRole("button", { name: "Archive", exact: true })).toHaveCount(0);
  await expect(pv.getByRole("button", { name: "Move cell up" })).toHaveCount(0);
  await expect(pv.getByRole("button", { name: "6h" })).toBeDisabled();
  await expect(pv.getByTestId("role")).toHaveText("Read-only view");
  const before = await sourceOf(vc);
  expect(before).toContain(query);
  await editorOf(vc).click();
  await pv.keyboard.type("sum(");
  await pv.keyboard.press("Shift+Enter");
  await expect(vc).toHaveAttribute("data-status", "done");
  expect(await sourceOf(vc)).toBe(before);
  expect(await sourceOf(c)).toBe(before);

  // Live updates still arrive: the editor renames the notebook.
  await pe.getByRole("textbox", { name: "Notebook title" }).fill("Viewer mode: 500s");
  await pe.getByRole("textbox", { name: "Notebook title" }).press("Enter");
  await expect(pv.getByRole("heading", { name: "Viewer mode: 500s" })).toBeVisible();

  // A reload keeps the cell, its output and the timeline.
  await pv.reload();
  await expect(pv.getByTestId("connection")).toHaveText("Following live");
  await expect.poll(() => sourceOf(cell(pv, 0))).toContain(query);
  await expect(cell(pv, 0).locator("canvas")).toBeVisible();
  await expect(cell(pv, 0).getByText(/Alice ran prometheus/)).toBeVisible();
  const finished = pv.locator('.timeline li[data-entry-type="run.finished"]');
  await expect(finished).toHaveCount(1);
  await expect(finished).toContainText("Alice");
  await expect(finished).toContainText("prometheus");

  // Jumping from the timeline lands on the cell.
  await finished.getByRole("button").click();
  await expect(cell(pv, 0)).toBeInViewport();

  const downloading = pv.waitForEvent("download");
  await pv.getByRole("link", { name: "Export postmortem" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe(`postmortem-${nb.id}.md`);
  const path = await download.path();
  const markdown = await readFile(path, "utf8");
  expect(markdown).toContain("Viewer mode: 500s");
  expect(markdown).toContain(query);
  expect(markdown).toContain("Alice");
  // The timeline carries the full head hash the export prints (what `log verify --head` takes).
  const fullHead = markdown.match(/Incident-log head:\*\* `([0-9a-f]{64})`/)?.[1];
  expect(fullHead).toBeDefined();
  await expect(pv.getByTestId("head-hash")).toHaveAttribute("title", fullHead ?? "");
  await editor.close();
  await viewer.close();
});
