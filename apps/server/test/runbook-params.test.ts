import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseCell } from "@databook/cell-syntax";
import { consistentWith, formatMatchers, matchesAll, parseMatchers } from "../src/alerts/matchers.ts";
import { fillSource, fillTitle, type ParamValues, paramsUsed } from "../src/runbooks/params.ts";
import { runbookOrder } from "../src/runbooks/store.ts";

const values = (labels: Record<string, string> = {}, params: Record<string, string> = {}): ParamValues => ({
  labels,
  annotations: { summary: "5xx above 5%" },
  params,
});

describe("runbook parameters", () => {
  it("fills labels, annotations and params, with defaults; other {{…}} are left alone", () => {
    const src =
      '@plugin=prometheus @legend="{{code}}"\nsum(rate(http_requests_total{service="{{ labels.service }}", ns="{{ params.ns | default "prod" }}"}[5m])) by (code)';
    const out = fillSource(src, values({ service: "api" }));
    assert.deepEqual(out.problems, []);
    assert.equal(
      out.source,
      '@plugin=prometheus @legend="{{code}}"\nsum(rate(http_requests_total{service="api", ns="prod"}[5m])) by (code)',
    );
    assert.equal(
      fillSource("# {{ annotations.summary }} on {{ labels.service }}", values({ service: "api" })).source,
      "# 5xx above 5\\% on api",
    );
  });

  it("a missing label without a default is a clear problem naming it, and the cell stays as written", () => {
    const src = '@plugin=prometheus\nup{job="{{ labels.job }}"}';
    const out = fillSource(src, values());
    assert.equal(out.source, src);
    assert.equal(out.problems.length, 1);
    assert.equal(out.problems[0]!.param, "labels.job");
    assert.match(
      out.problems[0]!.message,
      /labels\.job is not set \(the alert has no such label\); give it, or a default: \{\{ labels\.job \| default "…" \}\}/,
    );
    // with a default, the default is used
    assert.equal(
      fillSource('@plugin=prometheus\nup{job="{{ labels.job | default "node" }}"}', values()).source,
      '@plugin=prometheus\nup{job="node"}',
    );
  });

  it('a label value carrying "} stays inside the PromQL string literal', () => {
    const evil = 'x"} or vector(1) or up{a="';
    const out = fillSource('@plugin=prometheus\nup{service="{{ labels.service }}"}', values({ service: evil }));
    assert.deepEqual(out.problems, []);
    assert.equal(out.source, '@plugin=prometheus\nup{service="x\\"} or vector(1) or up{a=\\""}');
    // PromQL reads it back as one string: the lexer never leaves the literal
    const body = out.source.split("\n")[1]!;
    assert.equal(JSON.parse(body.slice(body.indexOf('"'), body.lastIndexOf('"') + 1)), evil);
  });

  it("a value with a newline or @plugin= never adds a header line, in any context", () => {
    for (const v of ["a\n@plugin=http\nhttps://evil.example", "@plugin=http", "\n@action=silence"]) {
      for (const src of [
        "{{ labels.x }}",
        "note: {{ labels.x }}",
        '@plugin=prometheus\nup{a="{{ labels.x }}"}',
        "@plugin=alertmanager\nalertname='{{ labels.x }}'",
        "@plugin=prometheus\n{{ labels.x }}",
        "@plugin=echo\n{{ labels.x }}",
      ]) {
        const out = fillSource(src, values({ x: v }));
        const before = parseCell(src);
        const after = parseCell(out.source);
        assert.deepEqual(
          after,
          before.kind === "markdown"
            ? { kind: "markdown" }
            : { ...before, input: after.kind === "query" ? after.input : "" },
          `${JSON.stringify(src)} with ${JSON.stringify(v)}`,
        );
        assert.ok(
          !/(^|\n)\s*@plugin=http/.test(
            out.source
              .split("\n")
              .slice(before.kind === "query" ? before.headerLines : 0)
              .join("\n"),
          ),
          out.source,
        );
      }
    }
  });

  it("markdown escapes what would render (links, HTML, emphasis) and keeps plain values as they are", () => {
    assert.equal(
      fillSource("Service: {{ labels.s }}", values({ s: "api-gateway_v2.prod:8080/x" })).source,
      "Service: api-gateway_v2.prod:8080/x",
    );
    assert.equal(
      fillSource("Service: {{ labels.s }}", values({ s: "<img src=x onerror=alert(1)> [click](http://evil)" })).source,
      "Service: \\<img src\\=x onerror\\=alert\\(1\\)\\> \\[click\\]\\(http\\:\\/\\/evil\\)",
    );
  });

  it("outside a string literal only [A-Za-z0-9_.:-]+ is filled; anything else is refused naming the parameter", () => {
    assert.equal(
      fillSource('@plugin=prometheus\nrate(x[{{ params.w | default "5m" }}])', values()).source,
      "@plugin=prometheus\nrate(x[5m])",
    );
    const out = fillSource("@plugin=prometheus\nsum by ({{ labels.by }}) (x)", values({ by: "a) or vector(1" }));
    assert.equal(out.problems[0]!.param, "labels.by");
    assert.match(
      out.problems[0]!.message,
      /labels\.by = "a\) or vector\(1" cannot be filled in here: outside a quoted string only letters, digits and _ \. : - are allowed/,
    );
    // an unknown plugin's body: only the strict rule, even inside quotes
    assert.match(
      fillSource('@plugin=http\nGET "https://x/{{ labels.p }}"', values({ p: "a b" })).problems[0]!.message,
      /cannot be filled in here/,
    );
  });

  it("header lines are never filled", () => {
    const src = '@plugin=alertmanager @action=silence @comment="{{ labels.c }}"\nalertname="{{ labels.a }}"';
    const out = fillSource(src, values({ c: "ok", a: "X" }));
    assert.equal(out.source, '@plugin=alertmanager @action=silence @comment="{{ labels.c }}"\nalertname="X"');
  });

  it("something that starts like a parameter but is not one is a problem, not silently left", () => {
    const out = fillSource("{{ labels.x | upper }}", values({ x: "a" }));
    assert.match(out.problems[0]!.message, /starts like a parameter but is not one Databook reads/);
  });

  it("back-quoted strings refuse back quotes; quoted strings refuse control characters", () => {
    assert.match(
      fillSource("@plugin=prometheus\nup{a=`{{ labels.x }}`}", values({ x: "a`b" })).problems[0]!.message,
      /back quote/,
    );
    assert.match(
      fillSource('@plugin=prometheus\nup{a="{{ labels.x }}"}', values({ x: "a\u0007" })).problems[0]!.message,
      /U\+0007/,
    );
    assert.equal(
      fillSource("@plugin=prometheus\nup{a='{{ labels.x }}'}", values({ x: "it's" })).source,
      "@plugin=prometheus\nup{a='it\\'s'}",
    );
  });

  it("titles take any text, made plain; a missing value is empty", () => {
    assert.equal(
      fillTitle("{{ labels.alertname }} on {{ labels.service }}", values({ alertname: "High\nErrors\u202e" })),
      "High Errors on",
    );
    assert.equal([...fillTitle(`{{ labels.x }}`, values({ x: "a".repeat(500) }))].length, 200);
  });

  it("lists what a runbook asks for, defaults included, header lines left out", () => {
    const asked = paramsUsed("{{ labels.service }} errors", [
      '@plugin=prometheus @legend="{{ labels.zzz }}"\nup{ns="{{ params.ns | default "prod" }}", a="{{ annotations.summary }}"}',
      "{{ params.ticket }}",
    ]);
    assert.deepEqual(asked, {
      labels: [{ name: "service" }],
      annotations: [{ name: "summary" }],
      params: [{ name: "ns", default: "prod" }, { name: "ticket" }],
    });
  });
});

describe("runbook matchers", () => {
  it("reads Alertmanager's syntax, anchors regular expressions, and round-trips", () => {
    const m = parseMatchers('{alertname=~"API.*", severity="critical", team!="db", env!~"dev|test"}');
    assert.equal(matchesAll(m, { alertname: "APIHighErrors", severity: "critical", env: "prod" }), true);
    assert.equal(matchesAll(m, { alertname: "MyAPIHighErrors", severity: "critical" }), false, "anchored");
    assert.equal(matchesAll(m, { alertname: "API", severity: "critical", env: "dev" }), false);
    assert.deepEqual(
      parseMatchers(formatMatchers(m)).map(({ re: _, ...x }) => x),
      m.map(({ re: _, ...x }) => x),
    );
    assert.equal(matchesAll(parseMatchers('team=""'), { a: "b" }), true, "a missing label is empty");
    assert.equal(matchesAll(parseMatchers('alertname=~"(?i)api.*"'), { alertname: "ApiDown" }), true);
  });

  it("says what is wrong with a bad matcher", () => {
    const says = (re: RegExp) => (e: unknown) =>
      (e as { kind: string }).kind === "bad-input" && re.test((e as Error).message);
    assert.throws(() => parseMatchers('alertname=~"("'), says(/the regular expression of alertname is not valid RE2/));
    assert.throws(() => parseMatchers("alertname"), says(/expected =, !=, =~ or !~ after alertname/));
    assert.throws(() => parseMatchers('a="x" b="y"'), says(/expected a comma/));
    assert.throws(() => parseMatchers('a="x'), says(/no closing quote/));
    // RE2's syntax, as Alertmanager's: no back-references or look-around
    assert.throws(() => parseMatchers('a=~"(a)\\\\1"'), says(/not valid RE2 .*invalid escape sequence/));
    assert.throws(() => parseMatchers('a=~"x(?=y)"'), says(/not valid RE2 .*unsupported Perl syntax/));
  });

  it("a crafted label value cannot make a matcher take exponential time (RE2 matches in linear time)", () => {
    const m = parseMatchers('service=~"(a+)+$", x=~"(a|aa)+"');
    // a backtracking engine would not return from this in the lifetime of the machine; RE2 does at once
    assert.equal(matchesAll(m, { service: `${"a".repeat(4000)}b`, x: `${"a".repeat(4000)}b` }), false);
  });

  it("for suggestions, matchers on labels not given are not held against a runbook", () => {
    const m = parseMatchers('alertname=~"API.*", severity="critical"');
    assert.equal(consistentWith(m, { severity: "critical" }), true);
    assert.equal(consistentWith(m, { severity: "warning" }), false);
  });

  it("orders overlapping runbooks: priority, then more matchers, then marked earlier, then id", () => {
    const rb = (id: string, priority: number, matcher: string, markedAtMs: number) => ({
      notebookId: id,
      matcher,
      priority,
      markedAtMs,
      updatedAtMs: markedAtMs,
      matchers: parseMatchers(matcher),
    });
    const list = [
      rb("d", 0, 'a="1"', 1),
      rb("c", 0, 'a="1", b="2"', 5),
      rb("b", 5, 'a="1"', 9),
      rb("a2", 0, 'a="1"', 1),
      rb("e", 0, 'a="1"', 0),
    ].sort(runbookOrder);
    assert.deepEqual(
      list.map((r) => r.notebookId),
      ["b", "c", "e", "a2", "d"],
    );
  });
});
