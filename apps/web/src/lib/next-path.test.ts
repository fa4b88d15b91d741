import assert from "node:assert/strict";
import { test } from "node:test";
import { safeNext, signInHref } from "./next-path.ts";

test("safeNext keeps paths on this site with their query and hash", () => {
  assert.equal(safeNext("/n/abc"), "/n/abc");
  assert.equal(safeNext("/n/abc?x=1#cell-c1"), "/n/abc?x=1#cell-c1");
  assert.equal(safeNext("/account?welcome=1"), "/account?welcome=1");
});

test("safeNext refuses anything that leaves the site (open redirects)", () => {
  const base = "http://databook.test";
  for (const bad of [
    "https://evil.example/",
    "//evil.example/x",
    "/\\evil.example",
    "/\t/evil.example",
    "javascript:alert(1)",
    "evil.example",
    "",
    null,
    undefined,
  ]) {
    const got = safeNext(bad);
    assert.equal(new URL(got, base).origin, base, `${String(bad)} gave ${got}`);
    assert.equal(got, "/", `${String(bad)} gave ${got}`);
  }
  // an encoded slash is a path segment here, not a host
  assert.equal(new URL(safeNext("/%2F%2Fevil.example"), base).origin, base);
});

test("safeNext never sends the person back to the sign-in page", () => {
  assert.equal(safeNext("/signin?next=/n/a"), "/");
});

test("signInHref keeps where the person was, and the problem to explain", () => {
  assert.equal(signInHref({ pathname: "/n/abc", search: "", hash: "#cell-1" }), "/signin?next=%2Fn%2Fabc%23cell-1");
  assert.equal(signInHref({ pathname: "/", search: "", hash: "" }), "/signin");
  assert.equal(
    signInHref({ pathname: "/n/abc", search: "", hash: "" }, "link-revoked"),
    "/signin?problem=link-revoked&next=%2Fn%2Fabc",
  );
});
