#!/usr/bin/env node
// `databook-build-plugin [DIR]`: builds DIR/plugin.wasm (default: the current folder) from
// DIR/src/index.ts. Used as `"build": "databook-build-plugin"` in every plugin's package.json.
// The build runs TypeScript directly, which needs Node 24; under an older Node it re-launches
// itself under the project's Node 24 (scripts/node24.sh fetches it once).
import { ensureNode24 } from "../../scripts/node24-relaunch.mjs";

ensureNode24(import.meta.url, "databook-build-plugin");
const { main } = await import("../src/build/cli.ts");
process.exitCode = await main(process.argv.slice(2));
