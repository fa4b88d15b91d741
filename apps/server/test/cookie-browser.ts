/**
 * A browser as far as sign-in needs one, over plain fetch: a cookie jar keyed by host name (like
 * a browser's, which ignores ports), redirects followed by hand, and the OpenID Provider's
 * development login and consent forms (npm `oidc-provider`) filled in.
 */

type Cookie = { name: string; value: string; path: string };

/** One request the browser made and the answer's status and Location. */
export type Hop = { method: string; url: string; status: number; location?: string };

/** Options of {@link cookieBrowser}: `forwardedFor` is sent as X-Forwarded-For (a distinct client address behind a trusted proxy). */
export function cookieBrowser(opts: { forwardedFor?: string } = {}) {
  const jar = new Map<string, Cookie[]>();

  function store(url: URL, setCookies: string[]): void {
    const cookies = jar.get(url.hostname) ?? [];
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(";").map((p) => p.trim());
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      let path = "/";
      let gone = value === "";
      for (const a of attrs) {
        const [k, v = ""] = a.split("=");
        const key = k!.toLowerCase();
        if (key === "path") path = v;
        if (key === "max-age" && Number(v) <= 0) gone = true;
        if (key === "expires" && Date.parse(v) <= Date.now()) gone = true;
      }
      const i = cookies.findIndex((c) => c.name === name && c.path === path);
      if (i >= 0) cookies.splice(i, 1);
      if (!gone) cookies.push({ name, value, path });
    }
    jar.set(url.hostname, cookies);
  }

  function cookieHeader(url: URL): string {
    return (jar.get(url.hostname) ?? [])
      .filter((c) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith("/") ? c.path : `${c.path}/`))
      .map((c) => `${c.name}=${c.value}`)
      .join("; ");
  }

  /** One request with this browser's cookies; stores the cookies it sets. Does not follow redirects. */
  async function request(url: string, init: { method?: string; form?: Record<string, string> } = {}) {
    const u = new URL(url);
    const headers: Record<string, string> = {};
    const cookie = cookieHeader(u);
    if (cookie) headers.cookie = cookie;
    if (opts.forwardedFor) headers["x-forwarded-for"] = opts.forwardedFor;
    let body: string | undefined;
    if (init.form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      headers.origin = u.origin; // a form posted from the provider's own page
      body = new URLSearchParams(init.form).toString();
    }
    const r = await fetch(u, { method: init.method ?? (body ? "POST" : "GET"), headers, body, redirect: "manual" });
    store(u, r.headers.getSetCookie());
    const location = r.headers.get("location");
    return { response: r, location: location ? new URL(location, u).href : undefined };
  }

  return {
    request,
    /** The value of cookie `name` for `url`'s host, or undefined. */
    cookie: (url: string, name: string) => jar.get(new URL(url).hostname)?.find((c) => c.name === name)?.value,
    /**
     * GETs `url` and follows redirects while `follow(location)` says so (at most 20); returns
     * every hop and the last answer (its Location is where following stopped).
     */
    async go(url: string, follow: (location: URL) => boolean = () => true) {
      const hops: Hop[] = [];
      let next: string | undefined = url;
      let last: Awaited<ReturnType<typeof request>> | undefined;
      for (let i = 0; next && i < 20; i++) {
        last = await request(next);
        hops.push({ method: "GET", url: next, status: last.response.status, location: last.location });
        next = last.location && follow(new URL(last.location)) ? last.location : undefined;
      }
      return { hops, last: last! };
    },
  };
}

export type CookieBrowser = ReturnType<typeof cookieBrowser>;

/** The `action` of the form on a provider page, resolved against the page URL. */
function formAction(html: string, pageUrl: string): string {
  const m = /<form[^>]*action="([^"]+)"/.exec(html);
  if (!m) throw new Error(`no form on ${pageUrl}: ${html.slice(0, 300)}`);
  return new URL(m[1]!.replaceAll("&amp;", "&"), pageUrl).href;
}

/**
 * Signs in through Databook's `/auth/oidc/start` (`startUrl`, with any `next`) at the test
 * provider as `login`: fills the login form, then on the consent page presses Continue, or follows
 * Cancel when `consent` is "cancel". Stops at the first redirect to `stopAt`'s origin that is not
 * an `/auth/oidc/` route (where Databook sends the browser after sign-in) — or, with
 * `stopAtCallback`, before Databook's callback is opened. Returns that URL and every hop.
 */
export async function signInAtProvider(
  b: CookieBrowser,
  startUrl: string,
  login: string,
  opts: { consent?: "continue" | "cancel"; stopAtCallback?: boolean } = {},
): Promise<{ landedAt: URL; hops: Hop[] }> {
  const databook = new URL(startUrl).origin;
  const stop = (u: URL) =>
    u.origin === databook &&
    (!u.pathname.startsWith("/auth/oidc/") || (opts.stopAtCallback === true && u.pathname === "/auth/oidc/callback"));
  const hops: Hop[] = [];
  let url = startUrl;
  for (let page = 0; page < 6; page++) {
    const r = await b.go(url, (u) => !stop(u));
    hops.push(...r.hops);
    if (r.last.location) return { landedAt: new URL(r.last.location), hops };
    const pageUrl = r.hops.at(-1)!.url;
    const html = await r.last.response.text();
    if (r.last.response.status !== 200) throw new Error(`${pageUrl} answered ${r.last.response.status}: ${html}`);
    let sent: Awaited<ReturnType<CookieBrowser["request"]>>;
    if (html.includes('name="login"'))
      sent = await b.request(formAction(html, pageUrl), { form: { prompt: "login", login, password: "any" } });
    else if (html.includes('value="consent"')) {
      if (opts.consent === "cancel") {
        const cancel = /<a href="([^"]+)">\[ Cancel \]<\/a>/.exec(html)?.[1];
        if (!cancel) throw new Error("no Cancel link on the consent page");
        url = new URL(cancel.replaceAll("&amp;", "&"), pageUrl).href;
        continue;
      }
      sent = await b.request(formAction(html, pageUrl), { form: { prompt: "consent" } });
    } else throw new Error(`unexpected page at ${pageUrl}: ${html.slice(0, 300)}`);
    hops.push({ method: "POST", url: pageUrl, status: sent.response.status, location: sent.location });
    if (!sent.location) throw new Error(`the form at ${pageUrl} answered ${sent.response.status} without a redirect`);
    if (stop(new URL(sent.location))) return { landedAt: new URL(sent.location), hops };
    url = sent.location;
  }
  throw new Error(`sign-in did not finish: ${JSON.stringify(hops, null, 1)}`);
}
