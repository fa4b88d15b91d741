import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireBinary, startInTempDir } from "./process.ts";

/** Debian's binary (package `prometheus-alertmanager`). */
export const ALERTMANAGER_BIN = "/usr/bin/prometheus-alertmanager";

/** A running Alertmanager on loopback. `url` has no trailing slash. */
export type RunningAlertmanager = { url: string; dir: string; stop: () => Promise<void> };

/**
 * Starts Debian's Alertmanager on 127.0.0.1 with a free port, a temp storage dir, clustering off
 * and one receiver that sends nothing anywhere.
 * @throws Error when the binary is missing or the server does not start.
 */
export async function startAlertmanager(): Promise<RunningAlertmanager> {
  requireBinary(ALERTMANAGER_BIN, "prometheus-alertmanager");
  const dir = await mkdtemp(join(tmpdir(), "databook-alertmanager-"));
  try {
    const config = join(dir, "alertmanager.yml");
    await writeFile(config, "route:\n  receiver: nowhere\nreceivers:\n  - name: nowhere\n");
    return await startInTempDir({
      name: "alertmanager",
      bin: ALERTMANAGER_BIN,
      dir,
      args: (port) => [
        `--config.file=${config}`,
        `--storage.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--cluster.listen-address=",
        "--log.level=warn",
      ],
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
