/**
 * The people of the end-to-end tests and the web benchmark, and how they come to exist: with the
 * real CLI (`databook users add NAME --password-stdin --data DIR`) before the server starts, as a
 * team would set Databook up. Passwords are test values, never reused outside a temporary data folder.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./root.ts";

/** A test account: `username` signs in, `name` is what pages and the incident log show. */
export type TestUser = { username: string; name: string; password: string; admin?: boolean };

const user = (username: string, name: string, admin = false): TestUser => ({
  username,
  name,
  password: `${username}-e2e-password`,
  ...(admin ? { admin } : {}),
});

/**
 * Everyone the suite needs. `ada` is the admin; alice, bob and victor get a signed-in browser
 * state made once by global setup; sam and erin sign in inside their own tests (they sign out,
 * which would end a shared session).
 */
export const USERS = {
  ada: user("ada", "Ada Admin", true),
  alice: user("alice", "Alice"),
  bob: user("bob", "Bob"),
  victor: user("victor", "Victor"),
  sam: user("sam", "Sam"),
  erin: user("erin", "Erin"),
} as const satisfies Record<string, TestUser>;

export type UserKey = keyof typeof USERS;

/** Users whose signed-in browser state global setup saves (see sign-in.ts). */
export const SIGNED_IN_USERS: UserKey[] = ["ada", "alice", "bob", "victor"];

/** Adds `users` to the data folder `dataDir` with the databook CLI (before `serve` starts). */
export function addUsers(dataDir: string, users: TestUser[]): void {
  for (const u of users) {
    execFileSync(
      process.execPath,
      [
        join(ROOT, "apps", "server", "bin", "databook.js"),
        "users",
        "add",
        u.username,
        "--name",
        u.name,
        ...(u.admin ? ["--admin"] : []),
        "--password-stdin",
        "--data",
        dataDir,
      ],
      { cwd: ROOT, input: `${u.password}\n`, stdio: ["pipe", "ignore", "inherit"] },
    );
  }
}
