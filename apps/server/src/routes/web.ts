import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, sep } from "node:path";
import fastifyHelmet from "@fastify/helmet";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyReply } from "fastify";
import fp from "fastify-plugin";
import type { Services } from "../app.ts";
import { accessForRoutesInside } from "../auth/plugin.ts";
import { access } from "../auth/rules.ts";
import { notFound } from "../http-errors.ts";
import { startSession } from "./auth.ts";

/** The `sha256-…` CSP sources of every inline `<script>` in the build's HTML files (they are the app's bootstrap). */
export function inlineScriptHashes(webDir: string | undefined): string[] {
  if (!webDir || !existsSync(webDir)) return [];
  const hashes = new Set<string>();
  for (const f of readdirSync(webDir)) {
    if (!f.endsWith(".html")) continue;
    const html = readFileSync(join(webDir, f), "utf8");
    for (const m of html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g))
      hashes.add(`'sha256-${createHash("sha256").update(m[1]!, "utf8").digest("base64")}'`);
  }
  return [...hashes];
}

/**
 * The security headers of every response (helmet): a CSP whose `script-src` is `'self'` plus the
 * hashes of the build's inline scripts, no framing, images only from this server or data URLs (so
 * Markdown cannot load outside images), no referrer (a share link's secret never leaks), HSTS only
 * behind https. Routes that serve stored outputs set their own stricter CSP.
 */
export const securityHeaders = fp(
  async (app: FastifyInstance, { services: s, webDir }: { services: Services; webDir?: string }) => {
    await app.register(fastifyHelmet, {
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          "default-src": ["'self'"],
          "script-src": ["'self'", ...inlineScriptHashes(webDir)],
          // Svelte transitions and CodeMirror set element styles at run time
          "style-src": ["'self'", "'unsafe-inline'"],
          "img-src": ["'self'", "data:", "blob:"],
          "font-src": ["'self'", "data:"],
          "connect-src": ["'self'"],
          "worker-src": ["'self'", "blob:"],
          "object-src": ["'none'"],
          "base-uri": ["'none'"],
          "form-action": ["'self'"],
          "frame-ancestors": ["'none'"],
        },
      },
      frameguard: { action: "deny" },
      referrerPolicy: { policy: "no-referrer" },
      strictTransportSecurity: s.settings.secureCookies ? { maxAge: 15552000 } : false,
      crossOriginEmbedderPolicy: false,
    });
  },
  { name: "databook-security-headers" },
);

/**
 * The web app (the static SvelteKit build, with the SPA fallback) and the share-link exchange:
 * `/n/<id>?share=<secret>` (or an old viewer link's `?token=`) starts a stakeholder session and
 * redirects to `/n/<id>`, so the secret leaves the address bar before the page runs.
 */
export async function webRoutes(
  app: FastifyInstance,
  { services: s, webDir }: { services: Services; webDir?: string },
) {
  const hasWeb = !!webDir && (existsSync(join(webDir, "index.html")) || existsSync(join(webDir, "200.html")));
  const fallback = hasWeb && existsSync(join(webDir!, "200.html")) ? "200.html" : "index.html";
  const linkLimit = app.rateLimit({
    max: 30,
    timeWindow: 60_000,
    keyGenerator: (req) => `share|${req.ip}`,
    onExceeded: () => s.metrics.rateLimited.inc({ group: "share-links" }),
  });

  // the fallback page plus preload links for the notebook route's code (apps/web/scripts/notebook-page.ts)
  const notebookPage = hasWeb && existsSync(join(webDir!, "notebook.html")) ? "notebook.html" : fallback;
  const page = (reply: FastifyReply) =>
    hasWeb
      ? reply.sendFile(notebookPage)
      : reply.code(404).send({ error: { kind: "not-found", message: "no web app build" } });

  app.get(
    "/n/:id",
    { config: access.public("the notebook page loads before sign-in; it opens share links"), onRequest: linkLimit },
    async (req, reply) => {
      const id = (req.params as { id: string }).id;
      const q = req.query as Record<string, unknown>;
      const secret = typeof q.share === "string" ? q.share : typeof q.token === "string" ? q.token : undefined;
      if (secret === undefined) return page(reply);
      const here = `/n/${encodeURIComponent(id)}`;
      const back = `next=${encodeURIComponent(here)}`;
      if (req.identity.account) return reply.redirect(here, 303); // people use their own rights
      const r = await s.identities.resolve({ bearer: secret });
      if (r.refused?.startsWith("editor links were retired"))
        return reply.redirect(`/signin?problem=editor-link-retired&${back}`, 303);
      const link = await s.shareLinks.bySecret(secret);
      if (!link || link.notebookId !== id) {
        s.metrics.signInFailures.inc({ via: "share-link" });
        return reply.redirect(`/signin?problem=link-unknown&${back}`, 303);
      }
      if (!s.shareLinks.isLive(link)) return reply.redirect(`/signin?problem=link-revoked&${back}`, 303);
      const session = req.identity.session;
      if (session?.shareLinkIds) await s.sessions.addShareLink(session, link.id);
      else await startSession(s, req, reply, { shareLinkId: link.id }, "share-link");
      return reply.redirect(here, 303);
    },
  );

  if (hasWeb) {
    // @fastify/static's routes take no options: they get their rule from this context
    accessForRoutesInside(app, { kind: "public", why: "the web app's static files" });
    await app.register(fastifyStatic, {
      root: webDir!,
      wildcard: true,
      // `_app/immutable/` names carry a content hash (Vite): a reopened notebook fetches none of them
      cacheControl: false,
      setHeaders: (reply, path) => {
        const hashed = path.includes(`${sep}_app${sep}immutable${sep}`);
        reply.header("cache-control", hashed ? "public, max-age=31536000, immutable" : "public, max-age=0");
      },
    });
  }
  app.setNotFoundHandler((req, reply) => {
    if (hasWeb && req.method === "GET" && !req.url.startsWith("/api/") && !req.url.startsWith("/ws/"))
      return reply.sendFile(fallback);
    return notFound(req, reply);
  });
}
