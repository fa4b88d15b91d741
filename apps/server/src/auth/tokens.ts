import { TOKEN_PREFIX, TOKEN_SCOPES, type TokenScope } from "@databook/wire";
import type { Sql } from "../db/sql.ts";
import { randomId } from "../ids.ts";
import { checkLine } from "../text.ts";
import { newSecret, secretHash } from "./secrets.ts";

/** An API token without its secret. Times in ms since epoch. */
export type ApiToken = {
  id: string;
  ownerId: string;
  name: string;
  scopes: TokenScope[];
  createdAtMs: number;
  expiresAtMs?: number;
  lastUsedMs?: number;
  revokedAtMs?: number;
};

type Row = {
  id: string;
  owner_id: string;
  name: string;
  scopes: string;
  created_at_ms: number;
  expires_at_ms: number | null;
  last_used_ms: number | null;
  revoked_at_ms: number | null;
};

const toToken = (r: Row): ApiToken => ({
  id: r.id,
  ownerId: r.owner_id,
  name: r.name,
  scopes: JSON.parse(r.scopes) as TokenScope[],
  createdAtMs: r.created_at_ms,
  ...(r.expires_at_ms !== null ? { expiresAtMs: r.expires_at_ms } : {}),
  ...(r.last_used_ms !== null ? { lastUsedMs: r.last_used_ms } : {}),
  ...(r.revoked_at_ms !== null ? { revokedAtMs: r.revoked_at_ms } : {}),
});

/** Random bytes in a token secret: 32 (256 bits), well over the 128 required. */
const SECRET_BYTES = 32;
/** A token's last-used time is written at most this often (ms). */
const TOUCH_EVERY_MS = 60_000;

/**
 * Checks a scope list: a non-empty list of {@link TOKEN_SCOPES}, without repeats. Returns it;
 * throws `{ kind: "bad-input" }` naming the unknown scope and the known ones.
 */
export function checkScopes(value: unknown): TokenScope[] {
  const list = typeof value === "string" ? value.split(/[\s,]+/).filter(Boolean) : value;
  if (!Array.isArray(list) || list.length === 0)
    throw { kind: "bad-input", message: `give at least one scope: ${TOKEN_SCOPES.join(", ")}` };
  for (const s of list)
    if (!(TOKEN_SCOPES as readonly string[]).includes(s))
      throw { kind: "bad-input", message: `unknown scope '${String(s)}'; scopes are ${TOKEN_SCOPES.join(", ")}` };
  return [...new Set(list as TokenScope[])];
}

/**
 * API tokens (`api_tokens` table): `dbk_` + 256 random bits, stored as SHA-256 only (a fast hash:
 * every call checks one). A token is live until revoked or past its expiry; disabling its owner
 * disables it (checked where the owner is looked up).
 */
export function createTokens(sql: Sql, nowMs: () => number = Date.now) {
  const byId = async (id: string) => {
    const r = await sql.get<Row>("SELECT * FROM api_tokens WHERE id = ?", [id]);
    return r && toToken(r);
  };
  const isLive = (t: ApiToken | undefined, at = nowMs()): t is ApiToken =>
    !!t && t.revokedAtMs === undefined && (t.expiresAtMs === undefined || t.expiresAtMs > at);

  return {
    isLive,
    /** Creates a token; resolves to it with its secret (shown once). */
    async create(input: { ownerId: string; name: unknown; scopes: unknown; expiresAtMs?: number }) {
      const name = checkLine(input.name, "token name", 80);
      const scopes = checkScopes(input.scopes);
      if (input.expiresAtMs !== undefined && input.expiresAtMs <= nowMs())
        throw { kind: "bad-input", message: "the expiry must be in the future" };
      const secret = newSecret(TOKEN_PREFIX, SECRET_BYTES);
      const row = await sql.get<Row>(
        `INSERT INTO api_tokens (id, owner_id, name, secret_hash, scopes, created_at_ms, expires_at_ms)
          VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *`,
        [
          randomId(),
          input.ownerId,
          name,
          secretHash(secret),
          JSON.stringify(scopes),
          nowMs(),
          input.expiresAtMs ?? null,
        ],
      );
      return { token: toToken(row!), secret };
    },
    /** The token with this id, live or not. */
    get: byId,
    /**
     * The token a secret names (live or not), marking it used; `firstUse` is true for exactly one
     * call, the first ever use of a live token (for the audit log): it is the call whose
     * conditional UPDATE (`last_used_ms IS NULL`) changed the row, so two first calls racing on
     * two nodes of one database record one first use.
     */
    async use(secret: string): Promise<{ token: ApiToken; firstUse: boolean } | undefined> {
      const r = await sql.get<Row>("SELECT * FROM api_tokens WHERE secret_hash = ?", [secretHash(secret)]);
      if (!r) return undefined;
      const t = nowMs();
      let firstUse = false;
      if (isLive(toToken(r), t) && r.last_used_ms === null) {
        const marked = await sql.run("UPDATE api_tokens SET last_used_ms = ? WHERE id = ? AND last_used_ms IS NULL", [
          t,
          r.id,
        ]);
        firstUse = marked.changes > 0;
        r.last_used_ms = t;
      } else if (isLive(toToken(r), t) && t - r.last_used_ms! > TOUCH_EVERY_MS) {
        await sql.run("UPDATE api_tokens SET last_used_ms = ? WHERE id = ?", [t, r.id]);
        r.last_used_ms = t;
      }
      return { token: toToken(r), firstUse };
    },
    /** Whether a token is still live now (for open connections). */
    isLiveId: async (id: string): Promise<boolean> => isLive(await byId(id)),
    /** The tokens of one owner, or all of them, newest first. */
    list: async (ownerId?: string): Promise<ApiToken[]> =>
      (ownerId
        ? await sql.all<Row>("SELECT * FROM api_tokens WHERE owner_id = ? ORDER BY created_at_ms DESC", [ownerId])
        : await sql.all<Row>("SELECT * FROM api_tokens ORDER BY created_at_ms DESC")
      ).map(toToken),
    /** Revokes a token; false when it was already revoked. */
    revoke: async (id: string): Promise<boolean> =>
      (await sql.run("UPDATE api_tokens SET revoked_at_ms = ? WHERE id = ? AND revoked_at_ms IS NULL", [nowMs(), id]))
        .changes > 0,
  };
}

export type Tokens = ReturnType<typeof createTokens>;
