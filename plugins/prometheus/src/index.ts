/**
 * The Prometheus plugin: the cell's body is PromQL; see docs/plugins/prometheus.md.
 * The logic lives in run.ts, completion (metric names, label names and values, metadata: the
 * completion capability) in complete.ts, and their helpers (plain functions with unit tests);
 * this file only binds them to the plugin world.
 */
import { definePlugin } from "@databook/plugin-sdk/plugin";
import { completePrometheus } from "./complete.ts";
import { DESCRIPTION, runQuery } from "./run.ts";

export const { describe, invoke, completion } = definePlugin({
  describe: DESCRIPTION,
  invoke: runQuery,
  complete: completePrometheus,
});
