import { expect, test } from "@playwright/test";
import { contextAs, createNotebook, openNotebook } from "./support/notebook.ts";

test("the notebook's time range is shared: a preset or absolute bounds set by one editor show for everyone", async ({
  browser,
}) => {
  const nb = await createNotebook("Time range");
  const alice = await contextAs(browser, "alice");
  const viewer = await contextAs(browser, "victor");
  const pa = await openNotebook(alice, nb.url);
  const pv = await openNotebook(viewer, nb.url);
  await expect(pv.getByTestId("time-range")).toHaveText("last 1h");
  await expect(pv.getByRole("button", { name: "6h" })).toBeDisabled();

  await pa.getByRole("button", { name: "6h" }).click();
  await expect(pv.getByTestId("time-range")).toHaveText("last 6h");

  await pa.getByRole("button", { name: "Absolute…" }).click();
  await pa.getByLabel("From").fill("2025-11-29T00:00");
  await pa.getByLabel("to", { exact: true }).fill("2025-11-29T01:00");
  await pa.getByRole("button", { name: "Apply" }).click();
  // The picker takes local time; the label is UTC. Compute the expected label the same way.
  const expected = await pa.evaluate(() => {
    const f = (s: string) =>
      new Date(s)
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d+Z$/, "");
    return `${f("2025-11-29T00:00")} → ${f("2025-11-29T01:00")} UTC`;
  });
  await expect(pv.getByTestId("time-range")).toHaveText(expected);

  // A backwards range is refused with a reason, and nothing changes.
  await pa.getByRole("button", { name: "Absolute…" }).click();
  await pa.getByLabel("From").fill("2025-11-29T02:00");
  await pa.getByRole("button", { name: "Apply" }).click();
  await expect(pa.getByText("the start must be before the end")).toBeVisible();
  await expect(pv.getByTestId("time-range")).toHaveText(expected);
  await alice.close();
  await viewer.close();
});
