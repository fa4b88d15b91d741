/**
 * Peak RSS growth of this process while a plugin writes 1 GiB to stdout in one write-zeroes
 * (the hostile WAT fixture, `Z1024`, memory_mb = 16), to compare with the bound it must stay
 * under: the call's memory_mb + each worker's JS heap limit + 64 MB (docs/plugin-host.md,
 * "Host memory"). The peak is the kernel's high-water mark, as the hostile-plugin tests read it.
 */
import type { PluginHost } from "../../plugin-host/src/index.ts";
import { peakGrowth } from "../../plugin-host/test/helpers-rss.ts";

/** Runs the 1 GiB stdout write against `host` (which must have the hostile plugin as "hostile"). */
export async function stdoutFloodGrowthMb(host: PluginHost): Promise<number> {
  const warm = await host.invoke("hostile", { input: "S0", options: [], user: "bench" });
  if (!warm.ok) throw new Error(`the hostile plugin failed: ${warm.error.message}`);
  const { value, growthMb } = await peakGrowth(() =>
    host.invoke("hostile", { input: "Z1024", options: [], user: "bench" }),
  );
  if (!value.ok) throw new Error(`the 1 GiB write failed: ${value.error.message}`);
  return growthMb;
}
