// Starts the stack once for all tests, with the test accounts added by the CLI before the server
// starts, and signs each shared test user in once through the real sign-in page: tests open
// contexts from the saved browser states. The tests read URLs and the state folder from the environment.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "@playwright/test";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "./support/chromium.ts";
import { signedInContext } from "./support/sign-in.ts";
import { startStack } from "./support/stack.ts";
import { SIGNED_IN_USERS, USERS } from "./support/users.ts";

export default async function globalSetup(): Promise<() => Promise<void>> {
  // `raw` returns the output its input names (content type, then body): the page must survive any
  const stack = await startStack({
    users: Object.values(USERS),
    fixturePlugins: { raw: "raw-output-wat", slow: "hostile-wat" },
    // auto-refresh stops 3 s after its last page closed (10 minutes in production): a test watches it stop
    env: { DATABOOK_REFRESH_IDLE_MS: "3000" },
  });
  const states = mkdtempSync(join(tmpdir(), "databook-e2e-states-"));
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  try {
    for (const key of SIGNED_IN_USERS) {
      const ctx = await signedInContext(browser, stack.url, USERS[key], join(states, `${key}.json`));
      await ctx.close();
    }
  } catch (e) {
    await browser.close();
    await stack.stop();
    throw new Error(`signing the test users in failed: ${e}\nserver output:\n${stack.serverOutput()}`);
  }
  await browser.close();
  process.env.DATABOOK_E2E_URL = stack.url;
  process.env.DATABOOK_E2E_STATES = states;
  process.env.DATABOOK_E2E_DATA = stack.dataDir;
  process.env.DATABOOK_E2E_PROMETHEUS_URL = stack.prometheusUrl ?? "";
  process.env.DATABOOK_E2E_ALERTMANAGER_URL = stack.alertmanagerUrl ?? "";
  return async () => {
    await stack.stop();
    rmSync(states, { recursive: true, force: true });
  };
}
