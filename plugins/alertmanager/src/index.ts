/**
 * The Alertmanager plugin: list alerts and silences, create and expire silences (API v2);
 * see docs/plugins/alertmanager.md. The logic is in run.ts, the preview of an action before it
 * runs (the action-preview capability) in preview.ts; this file binds them to the plugin world.
 */
import { definePlugin } from "@databook/plugin-sdk/plugin";
import { previewAlertmanager } from "./preview.ts";
import { DESCRIPTION, runAlertmanager } from "./run.ts";

export const { describe, invoke, actionPreview } = definePlugin({
  describe: DESCRIPTION,
  invoke: runAlertmanager,
  preview: previewAlertmanager,
});
