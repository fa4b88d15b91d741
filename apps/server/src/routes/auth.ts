import { SYSTEM_PRINCIPAL } from "@databook/wire";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Services } from "../app.ts";
import type { Account } from "../auth/accounts.ts";
import { verifyPassword } from "../auth/passwords.ts";
import { sessionCookieName } from "../auth/plugin.ts";
import { access } from "../auth/rules.ts";
import type { SessionVia } from "../auth/sessions.ts";
import { httpError } from "../http-errors.ts";

/** An account as its owner and admins see it (never a password hash). */
export function publicAccount(a: Account) {
  return {
    id: a.id,
    ...(a.username ? { username: a.username } : {}),
    displayName: a.displayName,
    ...(a.email ? { email: a.email } : {}),
    role: a.role,
    disabled: a.disabled,
    hasPassword: a.hasPassword,
    oidc: a.oidc !== undefined,
    groups: a.groups,
    createdAtMs: a.createdAtMs,
  };
}

/** Sign-in attempts per address and per account-and-address (a stranger cannot lock out the admin). */
export const SIGN_IN_LIMITS = { perAddress: 30, perAccountAndAddress: 10, windowMs: 60_000 } as const;

/**
 * A rate limit hook for a sign-in route: at most `max` requests per {@link SIGN_IN_LIMITS}
 * window for each `key` within `group`; the 429 says when to try again and is counted in /metrics.
 */
export function signInLimit(
  app: FastifyInstance,
  s: Services,
  group: string,
  max: number,
  key: (req: FastifyRequest) => string,
) {
  return app.rateLimit({
    max,
    timeWindow: SIGN_IN_LIMITS.windowMs,
    keyGenerator: (req) => `${group}|${key(req)}`,
    onExceeded: () => s.metrics.rateLimited.inc({ group }),
    errorResponseBuilder: (_req, ctx) =>
      httpError(429, "too-many-requests", `too many attempts; try again in ${ctx.after}`),
  });
}

/**
 * Starts a session for `who` and sets its cookie; a session the browser already had is ended first
 * (rotation at sign-in: a cookie planted before sign-in never becomes a signed-in one).
 */
export async function startSession(
  s: Services,
  req: FastifyRequest,
  reply: FastifyReply,
  who: { userId: string } | { shareLinkId: string },
  via: SessionVia,
): Promise<void> {
  if (req.identity.session) await s.sessions.end(req.identity.session.idHash);
  const { secret } = await s.sessions.start(who, via);
  reply.setCookie(sessionCookieName(s.settings), secret, {
    httpOnly: true,
    sameSite: "lax",
    secure: s.settings.secureCookies,
    path: "/",
    maxAge: Math.floor(s.sessions.lifetimes.absoluteMs / 1000),
  });
}

function clearSession(s: Services, reply: FastifyReply): void {
  reply.clearCookie(sessionCookieName(s.settings), { path: "/", secure: s.settings.secureCookies, sameSite: "lax" });
}

/** Sign-in, sign-out, the first-admin link and the caller's own account (docs/api.md). */
export async function authRoutes(app: FastifyInstance, { services: s }: { services: Services }) {
  // Both limits apply to every attempt (a request runs only one of @fastify/rate-limit's route
  // hooks, so the two are checked here in one hook, after the body is parsed).
  const limits = [
    { group: "sign-in", max: SIGN_IN_LIMITS.perAddress, key: (req: FastifyRequest) => req.ip },
    {
      group: "sign-in-account",
      max: SIGN_IN_LIMITS.perAccountAndAddress,
      key: (req: FastifyRequest) => {
        const u = (req.body as { username?: unknown } | undefined)?.username;
        return `${req.ip}|${typeof u === "string" ? u.trim().toLowerCase() : (req.identity.account?.id ?? "")}`;
      },
    },
  ].map((l) => ({
    group: l.group,
    check: app.createRateLimit({
      max: l.max,
      timeWindow: SIGN_IN_LIMITS.windowMs,
      keyGenerator: (req) => `${l.group}|${l.key(req)}`,
    }),
  }));
  const passwordAttemptLimit = async (req: FastifyRequest, reply: FastifyReply) => {
    for (const l of limits) {
      const r = await l.check(req);
      if (r.isAllowed || !r.isExceeded) continue;
      s.metrics.rateLimited.inc({ group: l.group });
      reply.header("retry-after", String(r.ttlInSeconds));
      throw httpError(429, "too-many-requests", `too many sign-in attempts; try again in ${r.ttlInSeconds} s`);
    }
  };
  const linkLimit = signInLimit(app, s, "links", SIGN_IN_LIMITS.perAddress, (req) => req.ip);

  app.get(
    "/api/auth/config",
    { config: access.public("the sign-in page needs it before anyone is signed in") },
    async () => ({
      localSignIn: s.settings.localSignIn,
      ...(s.settings.oidc ? { oidc: { label: s.settings.oidc.label, startUrl: "/auth/oidc/start" } } : {}),
      needsFirstAdmin: (await s.accounts.count()) === 0,
    }),
  );

  app.post(
    "/api/auth/signin",
    { config: access.public("signing in"), preHandler: passwordAttemptLimit },
    async (req, reply) => {
      if (!s.settings.localSignIn)
        throw httpError(403, "denied", "sign-in with a password is turned off here; use the single sign-on button");
      const b = (req.body ?? {}) as { username?: unknown; password?: unknown };
      if (typeof b.username !== "string" || typeof b.password !== "string")
        throw httpError(400, "bad-input", "send { username, password } as JSON strings");
      const ok = await verifyPassword(b.password, await s.accounts.passwordHashOf(b.username));
      const account = ok ? await s.accounts.byUsername(b.username) : undefined;
      if (!account) {
        s.metrics.signInFailures.inc({ via: "password" });
        // the typed name is recorded only when it is an account's: a password typed into the
        // name field must never reach the audit log
        await s.audit.failure(req.ip, {
          via: "password",
          username: (await s.accounts.byUsername(b.username)) ? b.username.trim().toLowerCase() : "(unknown)",
        });
        // one answer for an unknown name and a wrong password
        throw httpError(401, "denied", "wrong username or password");
      }
      if (account.disabled) throw httpError(403, "denied", "this account is disabled; ask an admin");
      await startSession(s, req, reply, { userId: account.id }, "password");
      return { account: publicAccount(account) };
    },
  );

  app.post("/api/auth/signout", { config: access.anySession("none") }, async (req, reply) => {
    await s.sessions.end(req.identity.session!.idHash);
    clearSession(s, reply);
    await s.accessChanged({ sessionIdHashes: [req.identity.session!.idHash] });
    return { ok: true };
  });

  app.post("/api/auth/signout-everywhere", { config: access.signedIn("none") }, async (req, reply) => {
    const ended = await s.sessions.endAllFor(req.identity.account!.id);
    clearSession(s, reply);
    await s.accessChanged({ userIds: [req.identity.account!.id] });
    return { ok: true, sessionsEnded: ended };
  });

  app.get("/api/me", { config: access.anySession() }, async (req) => {
    const id = req.identity;
    return {
      principal: id.principal,
      ...(id.account ? { account: publicAccount(id.account) } : {}),
      ...(id.shareLinks
        ? { shareLinks: id.shareLinks.map((l) => ({ id: l.id, notebookId: l.notebookId, label: l.label })) }
        : {}),
    };
  });

  app.patch("/api/me", { config: access.signedIn("none"), preHandler: passwordAttemptLimit }, async (req) => {
    const a = req.identity.account!;
    const b = (req.body ?? {}) as { displayName?: unknown; password?: unknown; currentPassword?: unknown };
    if (b.password !== undefined) {
      if (typeof b.password !== "string") throw httpError(400, "bad-input", "password must be a string");
      // a stolen session cookie must not be enough to take the account over
      if (a.hasPassword) {
        const cur = typeof b.currentPassword === "string" ? b.currentPassword : "";
        if (!(await verifyPassword(cur, await s.accounts.passwordHashOf(a.username ?? "")))) {
          s.metrics.signInFailures.inc({ via: "password" });
          throw httpError(403, "denied", "the current password is wrong");
        }
      }
      await s.accounts.setPassword(a.id, b.password);
    }
    const next =
      b.displayName !== undefined
        ? await s.accounts.setDisplayName(a.id, b.displayName)
        : (await s.accounts.get(a.id))!;
    return { account: publicAccount(next) };
  });

  app.get(
    "/auth/link/:secret",
    { config: access.public("the one-time first-admin link printed at start"), onRequest: linkLimit },
    async (req, reply) => {
      const r = await s.signInLinks.redeemFirstAdmin((req.params as { secret: string }).secret);
      if (typeof r === "string") {
        s.metrics.signInFailures.inc({ via: "first-admin-link" });
        await s.audit.failure(req.ip, { via: "first-admin-link", reason: r });
        return reply.redirect(`/signin?problem=link-${r}`, 303);
      }
      await s.sharing.adoptOrphans(r);
      await s.audit.record("account.created", SYSTEM_PRINCIPAL, {
        accountId: r.id,
        username: r.username,
        role: r.role,
        via: "first-admin-link",
      });
      await startSession(s, req, reply, { userId: r.id }, "first-admin-link");
      return reply.redirect("/account?welcome=1", 303);
    },
  );
}
