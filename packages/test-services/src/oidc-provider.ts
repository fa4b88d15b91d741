import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import Provider, { type Configuration } from "oidc-provider";

/** What the test provider says about one person (OpenID Connect standard claims plus groups). */
export type OidcTestPerson = {
  name?: string;
  preferred_username?: string;
  email?: string;
  groups?: string[];
};

/** A running {@link startOidcProvider}. `people` may be changed between sign-ins (claims are read at each one). */
export type RunningOidcProvider = {
  /** The issuer identifier: `http://localhost:<port>` (no trailing slash). */
  issuer: string;
  port: number;
  clientId: string;
  clientSecret: string;
  people: Record<string, OidcTestPerson>;
  stop: () => Promise<void>;
};

/**
 * Starts a real OpenID Provider (npm `oidc-provider`) on 127.0.0.1, named `localhost` in its
 * issuer so its cookies never mix with a server under test on `127.0.0.1` (cookies ignore ports).
 * One confidential client (`client_secret_basic`, authorization code, PKCE required) may redirect
 * to `redirectUris`. Sign-in uses the provider's development pages: a form taking any login and
 * password (the login is the account id, looked up in `people`; an unknown login is refused), then a
 * consent page with Continue, and a Cancel link that answers `access_denied`. The scopes `profile`,
 * `email` and `groups` carry name / preferred_username, email and the groups claim
 * (`groupsClaim`, default `groups`). `port` 0 (default) picks a free one; a fixed port (and
 * `clientSecret`) let a test start the provider after the client that uses it.
 */
export async function startOidcProvider(opts: {
  redirectUris: string[];
  people: Record<string, OidcTestPerson>;
  groupsClaim?: string;
  port?: number;
  /** The client's secret (default: a random one), for a client configured before the provider starts. */
  clientSecret?: string;
}): Promise<RunningOidcProvider> {
  const groupsClaim = opts.groupsClaim ?? "groups";
  const people = opts.people;
  const clientId = "databook";
  const clientSecret = opts.clientSecret ?? randomBytes(24).toString("base64url");
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://localhost:${port}`;
  // a key of its own: the package's built-in development key set is public
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const config: Configuration = {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: opts.redirectUris,
        response_types: ["code"],
        grant_types: ["authorization_code"],
        token_endpoint_auth_method: "client_secret_basic",
      },
    ],
    jwks: { keys: [{ ...privateKey.export({ format: "jwk" }), kid: "test", use: "sig", alg: "RS256" }] as never },
    cookies: { keys: [randomBytes(32).toString("hex")] },
    pkce: { required: () => true },
    // lifetimes in seconds, set so the provider does not print a notice for each default
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
    scopes: ["openid", "profile", "email", "groups"],
    claims: {
      openid: ["sub"],
      profile: ["name", "preferred_username"],
      email: ["email", "email_verified"],
      groups: [groupsClaim],
    },
    features: { devInteractions: { enabled: true } },
    findAccount: (_ctx, id) => {
      if (!Object.hasOwn(people, id)) return undefined;
      return {
        accountId: id,
        claims: () => {
          const p = people[id]!;
          return {
            sub: id,
            ...(p.name !== undefined ? { name: p.name } : {}),
            ...(p.preferred_username !== undefined ? { preferred_username: p.preferred_username } : {}),
            ...(p.email !== undefined ? { email: p.email, email_verified: true } : {}),
            ...(p.groups !== undefined ? { [groupsClaim]: p.groups } : {}),
          };
        },
      };
    },
  };
  const provider = new Provider(issuer, config);
  server.on("request", provider.callback());
  return {
    issuer,
    port,
    clientId,
    clientSecret,
    people,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
