import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PluginError } from "@databook/plugin-sdk";
import { formatMatcher, parseMatchers } from "./matchers.ts";

describe("parseMatchers", () => {
  it("reads all four operators, with or without braces", () => {
    const expected = [
      { name: "severity", value: "critical", isRegex: false, isEqual: true },
      { name: "service", value: "api.*", isRegex: true, isEqual: true },
      { name: "env", value: "dev", isRegex: false, isEqual: false },
      { name: "team", value: "db|cache", isRegex: true, isEqual: false },
    ];
    const text = 'severity="critical", service=~"api.*", env!="dev", team!~"db|cache"';
    assert.deepEqual(parseMatchers(text), expected);
    assert.deepEqual(parseMatchers(`{${text}}`), expected);
  });

  it("accepts bare values, newlines as separators and spaces around operators", () => {
    assert.deepEqual(parseMatchers("severity = critical\nalertname=HighLatency"), [
      { name: "severity", value: "critical", isRegex: false, isEqual: true },
      { name: "alertname", value: "HighLatency", isRegex: false, isEqual: true },
    ]);
  });

  it("unescapes quoted values and keeps unicode", () => {
    assert.equal(parseMatchers('path="caf\u00e9 \\"x\\" \\\\ y"')[0]?.value, 'caf\u00e9 "x" \\ y');
  });

  it("gives no matchers for an empty body", () => {
    assert.deepEqual(parseMatchers("  \n "), []);
  });

  it("explains malformed matchers", () => {
    for (const [text, why] of [
      ['severity "critical"', /expected =, !=, =~ or !~ after severity/],
      ['severity="critical', /no closing quote/],
      ['{severity="critical"', /must end with }/],
      ['="x"', /expected a label name/],
      ['a="1" b="2"', /expected a comma/],
    ] as const) {
      assert.throws(
        () => parseMatchers(text),
        (err: unknown) => err instanceof PluginError && err.kind === "bad-input" && why.test(err.message),
        text,
      );
    }
  });

  it("round-trips through formatMatcher", () => {
    const text = 'a="1", b!="x\\"y", c=~"z.*", d!~"w"';
    assert.equal(parseMatchers(text).map(formatMatcher).join(", "), text);
  });
});
