import { type OidcProblem, safeNextPath } from "@databook/wire";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Services } from "../app.ts";
import type { OidcFailure } from "../auth/oidc.ts";
import { accountFromOidc } from "../auth/oidc-accounts.ts";
import { PENDING_SIGN_IN_TTL_MS } from "../auth/pending-sign-ins.ts";
import { access } from "../auth/rules.ts";
import { newSecret } from "../auth/secrets.ts";
import { SIGN_IN_LIMITS, signInLimit, startSession } from "./auth.ts";

/** Longest failure reason written to the audit log (characters). */
const MAX_REASON_CHARS = 300;

/**
 * Single sign-on with OpenID Connect (docs/security.md, "OpenID Connect"):
 * `GET /auth/oidc/start[?next=/path]` sends the browser to the provider; the provider sends it
 * back to `GET /auth/oidc/callback`, which signs the person in and goes on to `next`. Every
 * failure redirects to `/signin?problem=oidc-…` (OIDC_PROBLEMS in @databook/wire).
 */
export async function oidcRoutes(app: FastifyInstance, { services: s }: { services: Services }) {
  // separate counts, so a sign-in (one start, one callback) costs one of each
  const startLimit = signInLimit(app, s, "oidc-start", SIGN_IN_LIMITS.perAddress, (req) => req.ip);
  const callbackLimit = signInLimit(app, s, "oidc-callback", SIGN_IN_LIMITS.perAddress, (req) => req.ip);
  // ties a sign-in to the browser that started it; `__Host-` behind https so no sibling site can set it
  const bindingCookie = s.settings.secureCookies ? "__Host-databook_oidc" : "databook_oidc";
  const problem = (reply: FastifyReply, p: OidcProblem) => reply.redirect(`/signin?problem=${p}`, 303);
  const refused = async (req: FastifyRequest, reply: FastifyReply, p: OidcProblem, reason: string, more = {}) => {
    s.metrics.signInFailures.inc({ via: "oidc" });
    await s.audit.failure(req.ip, { via: "oidc", problem: p, reason: reason.slice(0, MAX_REASON_CHARS), ...more });
    req.log.warn({ problem: p, reason }, "OpenID Connect sign-in refused");
    return problem(reply, p);
  };

  app.get(
    "/auth/oidc/start",
    { config: access.public("starts single sign-on, before anyone is signed in"), onRequest: startLimit },
    async (req, reply) => {
      if (!s.oidc) return problem(reply, "oidc-off");
      const next = safeNextPath((req.query as { next?: unknown }).next);
      let started: Awaited<ReturnType<typeof s.oidc.start>>;
      try {
        started = await s.oidc.start();
      } catch (e) {
        const f = e as OidcFailure;
        return refused(req, reply, f.problem, f.message);
      }
      // one binding per browser, kept while it lasts, so sign-ins started in two tabs both work
      const binding = req.cookies[bindingCookie] || newSecret();
      try {
        await s.oidcPending.add({ ...started.checks, next }, binding);
      } catch (e) {
        return refused(req, reply, "oidc-busy", `the sign-in attempt was not stored: ${(e as Error)?.message ?? e}`);
      }
      reply.setCookie(bindingCookie, binding, {
        httpOnly: true,
        sameSite: "lax", // sent on the provider's top-level redirect back to the callback
        secure: s.settings.secureCookies,
        path: "/",
        maxAge: PENDING_SIGN_IN_TTL_MS / 1000,
      });
      return reply.redirect(started.url.href, 303);
    },
  );

  app.get(
    "/auth/oidc/callback",
    { config: access.public("the OpenID provider sends the browser back here to sign in"), onRequest: callbackLimit },
    async (req, reply) => {
      if (!s.oidc || !s.settings.oidc) return problem(reply, "oidc-off");
      const state = (req.query as { state?: unknown }).state;
      if (typeof state !== "string" || !state)
        return refused(req, reply, "oidc-state", "the callback carries no state");
      let taken: Awaited<ReturnType<typeof s.oidcPending.take>>;
      try {
        taken = await s.oidcPending.take(state, req.cookies[bindingCookie]);
      } catch (e) {
        // the attempt may still be stored: it stays single-use (taking it later succeeds once)
        return refused(req, reply, "oidc-busy", `the sign-in attempt could not be read: ${(e as Error)?.message ?? e}`);
      }
      if (!taken.ok)
        return taken.why === "unknown"
          ? refused(req, reply, "oidc-expired", "no sign-in under way with this state (used, expired or never started)")
          : refused(req, reply, "oidc-state", "the state belongs to a sign-in started in another browser");
      // the URL as the provider redirected to it: the registered redirect URI plus its query
      const callbackUrl = new URL(s.oidc.redirectUri);
      const q = req.url.indexOf("?");
      callbackUrl.search = q >= 0 ? req.url.slice(q) : "";
      let profile: Awaited<ReturnType<typeof s.oidc.finish>>;
      try {
        profile = await s.oidc.finish(callbackUrl, taken.signIn);
      } catch (e) {
        const f = e as OidcFailure;
        return refused(req, reply, f.problem, f.message);
      }
      const r = await accountFromOidc(s, s.settings.oidc, profile);
      if (!r.ok)
        return refused(
          req,
          reply,
          r.problem,
          r.problem === "oidc-not-allowed" ? "in none of DATABOOK_OIDC_ALLOWED_GROUPS" : "the account is disabled",
          r.accountId ? { accountId: r.accountId } : {},
        );
      await startSession(s, req, reply, { userId: r.account.id }, "oidc");
      return reply.redirect(taken.signIn.next, 303);
    },
  );
}
