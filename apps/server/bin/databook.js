#!/usr/bin/env node
// The `databook` command. Databook runs on Node.js 24; when started by an older Node
// (e.g. `npx databook` from a shell whose Node is 20), it re-launches itself under the project's
// Node 24, fetched once into .tools/ by scripts/node24.sh.
import { ensureNode24 } from "../../../scripts/node24-relaunch.mjs";

ensureNode24(import.meta.url, "databook");
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
