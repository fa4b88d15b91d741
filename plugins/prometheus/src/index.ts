/**
 * The Prometheus plugin: the cell's body is PromQL; see docs/plugins/prometheus.md.
 * The logic lives in run.ts and its helpers (plain functions with unit tests); this file only
 * binds it to the plugin world.
 */
import { definePlugin } from "@databook/plugin-sdk/plugin";
import { DESCRIPTION, runQuery } from "./run.ts";

export const { describe, invoke } = definePlugin({ describe: DESCRIPTION, invoke: runQuery });
