/**
 * A plugin built with the SDK as it was before the plugin contract gained capabilities
 * (`action-preview`, `completion`): its plugin.wasm was built from this file at commit 6b3a82e
 * and is kept as is (plugin.wasm.gz), so the tests can check that a plugin built then still loads
 * and runs on today's host. Never rebuild it: a rebuilt one would prove nothing.
 *
 * It looks like a small action plugin of that time: `@shout=yes` upper-cases the input, and
 * `@act=yes` is an action option (a run that sets it changes "something outside Databook").
 */
import { definePlugin, textOutput } from "@databook/plugin-sdk/plugin";

export const { describe, invoke } = definePlugin({
  describe: {
    description: "Echoes its input (a plugin built before the contract had capabilities).",
    version: "0.1.0",
    options: [
      { name: "shout", description: "`yes` upper-cases the input." },
      { name: "act", description: "`yes` pretends to change something outside Databook.", action: true },
    ],
    contentTypes: ["text/plain"],
  },
  invoke(call) {
    const shout = call.options.oneOf("shout", ["yes", "no"] as const) === "yes";
    const act = call.options.oneOf("act", ["yes", "no"] as const) === "yes";
    const text = shout ? call.input.toUpperCase() : call.input;
    return textOutput(act ? `acted on: ${text}` : text);
  },
});
