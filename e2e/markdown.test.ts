import { expect, test } from "@playwright/test";
import { cell, contextAs, createNotebook, openNotebook } from "./support/notebook.ts";

test("markdown cells render when not edited, without scripts, event handlers or unsafe links", async ({ browser }) => {
  const nb = await createNotebook("Markdown");
  const alice = await contextAs(browser, "alice");
  const viewer = await contextAs(browser, "victor");
  const pa = await openNotebook(alice, nb.url);
  const pv = await openNotebook(viewer, nb.url);
  const alerts: string[] = [];
  for (const p of [pa, pv]) {
    p.on("dialog", async (d) => {
      alerts.push(d.message());
      await d.dismiss();
    });
  }

  await pa.getByTestId("add-markdown").click();
  await pa.keyboard.type(
    '## Impact\n**Checkout** is down. <script>alert("s")</script><img src="x" onerror="alert(1)"> [bad](javascript:alert(2)) [runbook](https://runbooks.example/checkout)',
  );
  await pa.getByRole("textbox", { name: "Notebook title" }).click(); // leave the cell

  for (const page of [pa, pv]) {
    const md = cell(page, 0).locator(".md");
    await expect(md.locator("h2")).toHaveText("Impact");
    await expect(md.locator("strong")).toHaveText("Checkout");
    await expect(md.locator("script")).toHaveCount(0);
    await expect(md.locator("[onerror]")).toHaveCount(0);
    await expect(md.getByRole("link", { name: "runbook" })).toHaveAttribute(
      "href",
      "https://runbooks.example/checkout",
    );
    await expect(md.getByRole("link", { name: "runbook" })).toHaveAttribute("rel", /noopener/);
    expect(await md.locator("a", { hasText: "bad" }).getAttribute("href")).toBeNull();
  }
  expect(alerts).toEqual([]);

  // Double-click opens the source again for editors only.
  await cell(pa, 0).locator(".rendered").dblclick();
  await expect(cell(pa, 0).locator(".cm-content")).toBeFocused();
  await cell(pv, 0).locator(".rendered").dblclick();
  await expect(cell(pv, 0).locator(".cm-content")).toHaveCount(0);
  await alice.close();
  await viewer.close();
});
