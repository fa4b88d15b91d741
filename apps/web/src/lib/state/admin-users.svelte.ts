/**
 * The admin page's accounts: list, add (with a password), change role, disable / enable, reset a
 * password. Disabling ends the person's sessions at once (the server closes their open pages).
 */
import type { InstanceRole } from "@databook/wire";
import type { Account, Api } from "../api.ts";
import { Changes } from "./changes.svelte.ts";

export class AdminUsers {
  list = $state.raw<Account[] | undefined>(undefined);
  readonly changes = new Changes();
  #api: Api;

  constructor(api: Api) {
    this.#api = api;
  }

  load = () =>
    this.changes.load(async () => {
      this.list = await this.#api.users();
    });

  add = (input: { username: string; displayName?: string; password: string; role: InstanceRole }) =>
    this.changes.run(() => this.#api.createUser(input), this.load);

  setRole = (a: Account, role: InstanceRole) => this.changes.run(() => this.#api.updateUser(a.id, { role }), this.load);

  setDisabled = (a: Account, disabled: boolean) =>
    this.changes.run(() => this.#api.updateUser(a.id, { disabled }), this.load);

  resetPassword = (a: Account, password: string) =>
    this.changes.run(() => this.#api.updateUser(a.id, { password }), this.load);
}
