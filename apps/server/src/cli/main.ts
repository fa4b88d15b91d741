/**
 * The `databook` command line: dispatches to one module per command.
 * Each command module exports `run(argv: string[]): Promise<number>` (the exit code)
 * and `usage: string`.
 */
type Command = { usage: string; run: (argv: string[]) => Promise<number> };

const commands: Record<string, () => Promise<Command>> = {
  get: () => import("./get.ts"),
  plugins: () => import("./plugins.ts"),
  serve: () => import("./serve.ts"),
  log: () => import("./log.ts"),
  export: () => import("./export.ts"),
  users: () => import("./users.ts"),
  tokens: () => import("./tokens.ts"),
  audit: () => import("./audit.ts"),
  "migrate-data": () => import("./migrate-data.ts"),
};

/** Runs the CLI with `argv` (without node and script); returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    const lines = await Promise.all(Object.values(commands).map(async (load) => (await load()).usage));
    console.log(`usage: databook <command> [options]\n\n${lines.join("\n")}`);
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    console.error(`databook: unknown command '${name}'; run 'databook help' for the list`);
    return 2;
  }
  return (await load()).run(rest);
}
