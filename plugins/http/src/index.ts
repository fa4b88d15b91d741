/**
 * The HTTP plugin: one request to an allow-listed internal API, written like an `.http` file;
 * see docs/plugins/http.md. The logic is in run.ts; this file binds it to the plugin world.
 */
import { definePlugin } from "@databook/plugin-sdk/plugin";
import { DESCRIPTION, runHttp } from "./run.ts";

export const { describe, invoke } = definePlugin({ describe: DESCRIPTION, invoke: runHttp });
