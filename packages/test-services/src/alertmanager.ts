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
 * and, by default, one receiver that sends nothing anywhere.
 * @param opts.config alertmanager.yml text to use instead; `opts.files` are written next to it first
 *   (name → content, e.g. a token for `credentials_file`), and `{dir}` in the config is replaced by
 *   that folder's path.
 * @throws Error when the binary is missing or the server does not start.
 */
export async function startAlertmanager(
  opts: { config?: string; files?: Record<string, string> } = {},
): Promise<RunningAlertmanager> {
  requireBinary(ALERTMANAGER_BIN, "prometheus-alertmanager");
  const dir = await mkdtemp(join(tmpdir(), "databook-alertmanager-"));
  try {
    const config = join(dir, "alertmanager.yml");
    for (const [name, content] of Object.entries(opts.files ?? {}))
      await writeFile(join(dir, name), content, { mode: 0o600 });
    await writeFile(
      config,
      opts.config?.replaceAll("{dir}", dir) ?? "route:\n  receiver: nowhere\nreceivers:\n  - name: nowhere\n",
    );
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
