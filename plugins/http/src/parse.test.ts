// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the .http syntax writes ${VAR} references literally
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PluginError } from "@databook/plugin-sdk";
import { parseHttpRequest, resolveHeaders } from "./parse.ts";

function badInput(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PluginError);
    assert.equal(err.kind, "bad-input");
    return err.message;
  }
  assert.fail("expected bad-input");
}

describe("parseHttpRequest", () => {
  it("reads method, URL, headers and body like an .http file", () => {
    const text = [
      "# restart the api",
      "POST https://ops.internal/api/restart HTTP/1.1",
      "Content-Type: application/json",
      "Authorization: Bearer ${OPS_API_TOKEN}",
      "",
      '{"service": "api",',
      ' "why": "incident"}',
      "",
    ].join("\r\n");
    assert.deepEqual(parseHttpRequest(text), {
      method: "POST",
      url: "https://ops.internal/api/restart",
      headers: [
        ["Content-Type", "application/json"],
        ["Authorization", "Bearer ${OPS_API_TOKEN}"],
      ],
      body: '{"service": "api",\n "why": "incident"}',
    });
  });

  it("takes a bare URL as a GET without headers or body", () => {
    assert.deepEqual(parseHttpRequest("\nhttp://ops.internal/health\n"), {
      method: "GET",
      url: "http://ops.internal/health",
      headers: [],
    });
  });

  it("points at the line that is wrong", () => {
    assert.match(
      badInput(() => parseHttpRequest("")),
      /no request/,
    );
    assert.match(
      badInput(() => parseHttpRequest("FETCH http://x/")),
      /line 1: FETCH is not an HTTP method/,
    );
    assert.match(
      badInput(() => parseHttpRequest("GET /relative")),
      /not an absolute http/,
    );
    assert.match(
      badInput(() => parseHttpRequest("GET ftp://x/")),
      /not an absolute http/,
    );
    assert.match(
      badInput(() => parseHttpRequest("GET http://x/\nnot a header")),
      /line 2: expected a header/,
    );
    assert.match(
      badInput(() => parseHttpRequest("GET http://x/\n\nbody")),
      /GET request cannot have a body/,
    );
  });

  it("allows env references only in header values", () => {
    assert.match(
      badInput(() => parseHttpRequest("GET http://x/?t=${TOKEN}")),
      /only allowed in header values/,
    );
    assert.match(
      badInput(() => parseHttpRequest("POST http://x/\n\n${TOKEN}")),
      /only allowed in header values/,
    );
  });
});

describe("resolveHeaders", () => {
  it("fills references from the env and reports the values used", () => {
    const env: Record<string, string> = { A: "one", B: "two" };
    assert.deepEqual(
      resolveHeaders(
        [
          ["X", "${A}-${B}"],
          ["Y", "plain"],
        ],
        (n) => env[n],
      ),
      {
        headers: [
          ["X", "one-two"],
          ["Y", "plain"],
        ],
        secrets: ["one", "two"],
      },
    );
  });

  it("names a variable that is not allowed or not set", () => {
    assert.match(
      badInput(() => resolveHeaders([["Authorization", "Bearer ${NOPE}"]], () => undefined)),
      /\$\{NOPE\} in the Authorization header is not available.*allowed_env_vars/,
    );
  });
});
