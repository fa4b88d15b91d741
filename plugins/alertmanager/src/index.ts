/**
 * The Alertmanager plugin: list alerts and silences, create and expire silences (API v2);
 * see docs/plugins/alertmanager.md. The logic is in run.ts; this file binds it to the plugin world.
 */
import { definePlugin } from "@databook/plugin-sdk/plugin";
import { DESCRIPTION, runAlertmanager } from "./run.ts";

export const { describe, invoke } = definePlugin({ describe: DESCRIPTION, invoke: runAlertmanager });
