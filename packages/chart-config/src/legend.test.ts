import assert from "node:assert/strict";
import { test } from "node:test";
import { buildLegend, commonLabels, fillTemplate } from "./legend.ts";

const series = (labels: Record<string, string>) => ({ name: JSON.stringify(labels), labels });

test("labels shared by every series, with the same value, are the common ones", () => {
  assert.deepEqual(
    commonLabels([
      { __name__: "up", job: "api", instance: "a", zone: "x" },
      { __name__: "up", job: "api", instance: "b", zone: "x" },
      { __name__: "up", job: "api", instance: "c" },
    ]),
    { __name__: "up", job: "api" },
  );
  assert.deepEqual(commonLabels([{ job: "api" }]), {}, "one series has nothing to factor out");
  assert.deepEqual(commonLabels([]), {});
  assert.deepEqual(commonLabels([{ a: "1" }, { a: "2" }]), {});
});

test("13 series stop repeating instance and job: they go to the caption", () => {
  const many = Array.from({ length: 13 }, (_, i) =>
    series({ __name__: "http_requests_total", job: "api", instance: "10.0.0.1:9100", code: String(200 + i) }),
  );
  const legend = buildLegend(many);
  assert.equal(legend.caption, 'http_requests_total{instance="10.0.0.1:9100", job="api"}');
  assert.equal(legend.entries[0], '{code="200"}');
  assert.equal(legend.entries[12], '{code="212"}');
  for (const e of legend.entries) assert.doesNotMatch(e, /instance|job|http_requests_total/);
});

test("differing metric names stay in the entries", () => {
  const legend = buildLegend([series({ __name__: "a", job: "x" }), series({ __name__: "b", job: "x" })]);
  assert.equal(legend.caption, '{job="x"}');
  assert.deepEqual(legend.entries, ["a", "b"]);
});

test("a single series keeps its whole name and no caption", () => {
  const legend = buildLegend([{ name: 'up{job="api"}', labels: { __name__: "up", job: "api" } }]);
  assert.equal(legend.caption, undefined);
  assert.deepEqual(legend.entries, ['up{job="api"}']);
});

test("templates use Prometheus/Grafana {{label}} syntax; a missing label is empty", () => {
  const labels = { code: "500", instance: "a:9100", __name__: "x" };
  assert.equal(fillTemplate("{{code}}", labels), "500");
  assert.equal(fillTemplate("{{ code }} on {{instance}}", labels), "500 on a:9100");
  assert.equal(fillTemplate("{{__name__}}/{{missing}}/", labels), "x//");
  assert.equal(fillTemplate("{{code} {{", labels), "{{code} {{", "an unclosed placeholder stays as written");
  assert.equal(fillTemplate("{{ 1bad }}", labels), "{{ 1bad }}");
  assert.equal(
    fillTemplate("<b>{{code}}</b>", { code: "<i>" }),
    "<b><i></b>",
    "plain text: escaping is the renderer's job",
  );
});

test("a template names every entry; one that comes out blank falls back to the full name", () => {
  const a = { name: 'x{code="200"}', labels: { code: "200", job: "api" } };
  const b = { name: 'x{job="api"}', labels: { job: "api" } };
  const legend = buildLegend([a, b], "{{code}}");
  assert.deepEqual(legend.entries, ["200", 'x{job="api"}']);
  assert.equal(legend.caption, '{job="api"}', "the caption is kept with a template");
});
