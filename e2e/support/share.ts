/**
 * Driving the Share dialog on a notebook page as a person does: open it, add someone with the
 * people picker, change or remove a role, create a share link (reading its URL from the one-time
 * field) and revoke it.
 */
import { expect, type Locator, type Page } from "@playwright/test";

/** Opens the Share dialog of the notebook on `page`; returns the dialog. */
export async function openShare(page: Page): Promise<Locator> {
  await page.getByRole("button", { name: "Share", exact: true }).click();
  const dialog = page.getByRole("dialog", { name: /^Share/ });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole("region", { name: "People" })).toBeVisible();
  return dialog;
}

/** Adds the person found by `query` (name or username) with `role` ("can view" / "can edit" / owner). */
export async function addPerson(dialog: Locator, query: string, name: string, role: string): Promise<void> {
  await dialog.getByRole("searchbox", { name: "Find people to add" }).fill(query);
  await dialog
    .getByRole("list", { name: "People found" })
    .getByRole("button", { name: new RegExp(name) })
    .click();
  await dialog.getByRole("combobox", { name: `Role for ${name}` }).selectOption({ label: role });
  await dialog.getByRole("button", { name: "Add", exact: true }).click();
  await expect(dialog.locator(`[data-member="${name}"]`)).toBeVisible();
}

/** Creates a share link labelled `label`; returns its URL, read from the field that shows it once. */
export async function createShareLink(dialog: Locator, label: string): Promise<string> {
  await dialog.getByRole("textbox", { name: "Share link label" }).fill(label);
  await dialog.getByRole("button", { name: "Create link" }).click();
  const field = dialog.getByTestId("secret-once").getByRole("textbox");
  await expect(field).toHaveValue(/\/n\/[^?]+\?share=dbs_/);
  await expect(dialog.locator(`tr[data-link-label="${label}"]`)).toContainText("live");
  return field.inputValue();
}

/** Revokes the share link labelled `label` and waits until the dialog lists it as revoked. */
export async function revokeShareLink(dialog: Locator, label: string): Promise<void> {
  await dialog.getByRole("button", { name: `Revoke ${label}` }).click();
  await expect(dialog.locator(`tr[data-link-label="${label}"]`)).toContainText("revoked");
}
