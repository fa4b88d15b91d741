import assert from "node:assert/strict";
import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { PluginError } from "./errors.ts";
import { fetchJson, quoteBody } from "./http.ts";

/** A loopback HTTP server on a free port; `url` is its base. */
async function serve(handler: RequestListener) {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function upstreamMessage(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof PluginError);
    assert.equal(err.kind, "upstream");
    return err.message;
  }
  assert.fail("expected an upstream error");
}

describe("fetchJson", () => {
  let server: Awaited<ReturnType<typeof serve>>;
  before(async () => {
    server = await serve((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        if (req.url === "/echo") {
          res.setHeader("content-type", "application/json");
          res.end(JSON.stringify({ method: req.method, type: req.headers["content-type"], body }));
        } else if (req.url === "/error-json") {
          res.statusCode = 422;
          res.setHeader("content-type", "application/json");
          res.end('{"status":"error","error":"bad"}');
        } else if (req.url === "/html") {
          res.statusCode = 502;
          res.statusMessage = "Bad Gateway";
          res.setHeader("content-type", "text/html");
          res.end("<html><head><style>body{}</style></head><body><h1>502 Bad Gateway</h1>\n<p>nginx</p></body></html>");
        } else {
          res.statusCode = 204;
          res.end();
        }
      });
    });
  });
  after(() => server.close());

  it("posts a form and parses the JSON answer", async () => {
    const res = await fetchJson(`${server.url}/echo`, { form: { query: 'up{job="a b"}' } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, {
      method: "POST",
      type: "application/x-www-form-urlencoded",
      body: "query=up%7Bjob%3D%22a+b%22%7D",
    });
  });

  it("returns an error status with its JSON body for the caller to explain", async () => {
    const res = await fetchJson(`${server.url}/error-json`);
    assert.equal(res.ok, false);
    assert.equal(res.status, 422);
    assert.deepEqual(res.json, { status: "error", error: "bad" });
  });

  it("turns an HTML error page into a readable upstream error", async () => {
    const msg = await upstreamMessage(fetchJson(`${server.url}/html`, { service: "Prometheus" }));
    assert.equal(
      msg,
      `Prometheus at ${server.url}/html answered HTTP 502 Bad Gateway with text/html instead of JSON: 502 Bad Gateway nginx`,
    );
  });

  it("returns a non-JSON body as text when asked to", async () => {
    const res = await fetchJson(`${server.url}/html`, { allowNonJson: true });
    assert.equal(res.status, 502);
    assert.equal(res.json, undefined);
    assert.match(res.text, /<h1>502 Bad Gateway<\/h1>/);
  });

  it("says so when the body is empty", async () => {
    assert.match(await upstreamMessage(fetchJson(`${server.url}/empty`)), /HTTP 204 .* instead of JSON \(empty body\)/);
  });

  it("names the URL and the cause when nothing listens, without user info", async () => {
    const gone = await serve(() => {});
    await gone.close();
    const url = gone.url.replace("http://", "http://user:pw@");
    const msg = await upstreamMessage(fetchJson(url, { service: "Prometheus" }));
    assert.match(msg, new RegExp(`^could not reach Prometheus at ${gone.url}: .*ECONNREFUSED`));
    assert.doesNotMatch(msg, /pw/);
  });
});

describe("quoteBody", () => {
  it("cuts long text and marks the cut", () => {
    assert.equal(quoteBody("x".repeat(10), 4), "xxxx…");
  });
});
