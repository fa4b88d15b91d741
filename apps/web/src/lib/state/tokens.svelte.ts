/**
 * API tokens as a list the page shows: the signed-in person's own (`mine`, Account page: create and
 * revoke) or everyone's (`all`, Admin page: revoke). A new token's secret is kept in `created`
 * only until the page goes: the server shows it once and stores only its hash.
 */
import type { TokenScope } from "@databook/wire";
import type { Api, ApiToken } from "../api.ts";
import { Changes } from "./changes.svelte.ts";

export class ApiTokens {
  list = $state.raw<ApiToken[] | undefined>(undefined);
  created = $state.raw<{ name: string; secret: string } | undefined>(undefined);
  readonly changes = new Changes();
  readonly whose: "mine" | "all";
  #api: Api;

  constructor(api: Api, whose: "mine" | "all") {
    this.#api = api;
    this.whose = whose;
  }

  load = () =>
    this.changes.load(async () => {
      this.list = await (this.whose === "mine" ? this.#api.tokens() : this.#api.allTokens());
    });

  /** Creates one of the caller's tokens; on success `created` holds its secret. */
  create = (input: { name: string; scopes: TokenScope[]; expiresAtMs?: number }) =>
    this.changes.run(async () => {
      const r = await this.#api.createToken(input);
      this.created = { name: r.token.name, secret: r.secret };
    }, this.load);

  revoke = (tokenId: string) => this.changes.run(() => this.#api.revokeToken(tokenId), this.load);
}
