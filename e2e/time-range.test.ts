import { expect, test } from "@playwright/test";
import { contextAs, createNotebook, openNotebook } from "./support/notebook.ts";

test("the notebook's time range is shared: a preset or absolute bounds set by one editor show for everyone", async ({
  browser,
}) => {
  const nb = await createNotebook("Time range");
  // a responder in Los Angeles: the picker and the label read in the page's one zone, and name it
  const alice = await contextAs(browser, "alice", "America/Los_Angeles");
  const viewer = await contextAs(browser, "victor", "America/Los_Angeles");
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
  const expected = "2025-11-29 00:00–01:00 PST";
  await expect(pv.getByTestId("time-range")).toHaveText(expected);
  // the same range in UTC, for whoever reads in UTC
  await pv.getByTestId("zone-utc").click();
  await expect(pv.getByTestId("time-range")).toHaveText("2025-11-29 08:00–09:00 UTC");
  await pv.getByTestId("zone-local").click();

  // A backwards range is refused with a reason, and nothing changes.
  await pa.getByRole("button", { name: "Absolute…" }).click();
  await pa.getByLabel("From").fill("2025-11-29T02:00");
  await pa.getByRole("button", { name: "Apply" }).click();
  await expect(pa.getByText("the start must be before the end")).toBeVisible();
  await expect(pv.getByTestId("time-range")).toHaveText(expected);
  await alice.close();
  await viewer.close();
});
