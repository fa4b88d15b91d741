// Starts the stack once for all tests; the tests read its URLs from the environment.
import { startStack } from "./support/stack.ts";

export default async function globalSetup(): Promise<() => Promise<void>> {
  const stack = await startStack();
  process.env.DATABOOK_E2E_URL = stack.url;
  process.env.DATABOOK_E2E_PROMETHEUS_URL = stack.prometheusUrl ?? "";
  process.env.DATABOOK_E2E_ALERTMANAGER_URL = stack.alertmanagerUrl ?? "";
  return async () => {
    await stack.stop();
  };
}
