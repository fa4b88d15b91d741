// Notification failures are visible to admins: a stack of its own with one channel whose
// receiver (on loopback) fails, and one attempt allowed. An incident opened from the page makes a
// delivery that is given up on; the admin page shows the channel (its origin, never its path) and
// the delivery with its last error; Retry puts it back in the queue and, with the receiver well
// again, it is delivered, signed.
import { freePort, startHttpServer, type TestServer } from "@databook/test-services";
import { expect, test } from "@playwright/test";
import { signInThroughPage } from "./support/sign-in.ts";
import { type Stack, startStack } from "./support/stack.ts";
import { USERS } from "./support/users.ts";

let stack: Stack | undefined;
let receiver: TestServer | undefined;
let healthy = false;

test.beforeAll(async () => {
  receiver = await startHttpServer((_req, _body, res) => {
    res.statusCode = healthy ? 200 : 503;
    res.end(healthy ? "ok" : "down for the test");
  });
  const port = await freePort();
  stack = await startStack({
    prometheus: false,
    alertmanager: false,
    users: [USERS.ada, USERS.alice],
    port,
    env: {
      DATABOOK_PUBLIC_URL: `http://127.0.0.1:${port}`,
      DATABOOK_NOTIFICATIONS: JSON.stringify({
        channels: [
          {
            name: "oncall",
            url: `${receiver.url}/hooks/secret-path`,
            format: "json",
            secret: "e2e-notify-secret-0123456789",
          },
        ],
        retry: { maxAttempts: 1, firstDelayMs: 10, maxDelayMs: 10, timeoutMs: 2000 },
      }),
    },
  });
});
test.afterAll(async () => {
  await stack?.stop();
  await receiver?.close();
});

test("an abandoned notification shows to admins with its error; Retry delivers it once the receiver is back", async ({
  browser,
}) => {
  const url = stack?.url as string;
  const alice = await (await browser.newContext({ baseURL: url })).newPage();
  await signInThroughPage(alice, url, USERS.alice);
  await alice.goto("/");
  await alice.getByTestId("new-incident").getByRole("textbox", { name: "Incident title" }).fill("Notify e2e");
  await alice.getByRole("button", { name: "Open incident" }).click();
  await expect(alice).toHaveURL(/\/n\/[^/]+$/);
  const notebookId = new URL(alice.url()).pathname.split("/").at(-1) as string;

  const admin = await (await browser.newContext({ baseURL: url })).newPage();
  await signInThroughPage(admin, url, USERS.ada, "/admin");
  const section = admin.getByTestId("notifications");
  const channels = section.getByRole("table", { name: "Notification channels" });
  await expect(channels).toContainText("oncall");
  await expect(channels).toContainText(receiver?.url as string);
  await expect(channels).not.toContainText("secret-path");
  const row = section.getByTestId("delivery").filter({ hasText: notebookId });
  await expect(async () => {
    await section.getByRole("button", { name: "Refresh" }).click();
    await expect(row).toHaveAttribute("data-state", "abandoned", { timeout: 1000 });
  }).toPass({ timeout: 15_000 });
  await expect(row).toContainText("incident.opened");
  await expect(row).toContainText("503");

  healthy = true;
  await row.getByRole("button", { name: "Retry" }).click();
  await expect(row).toHaveCount(0);
  await section.getByRole("combobox", { name: "Deliveries to show" }).selectOption("delivered");
  await expect(async () => {
    await section.getByRole("button", { name: "Refresh" }).click();
    await expect(row).toHaveAttribute("data-state", "delivered", { timeout: 1000 });
  }).toPass({ timeout: 15_000 });
  const got = receiver?.requests.filter((r) => r.url === "/hooks/secret-path") ?? [];
  expect(got.length).toBe(2);
  expect(String(got[1]?.headers["x-databook-signature"])).toMatch(/^v1=[0-9a-f]{64}$/);
});
