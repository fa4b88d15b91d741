import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CONTENT_TYPES } from "@databook/wire";
import { codeBlock, renderOutput } from "../src/export/markdown.ts";

describe("Markdown export rendering", () => {
  it("summarises time series as min/max/last per series, keeping Prometheus value strings", () => {
    const body = JSON.stringify({
      resultType: "matrix",
      series: [
        {
          name: 'up{job="api"}',
          labels: { job: "api" },
          points: [
            [1, "1"],
            [2, "NaN"],
            [3, "0.5"],
            [4, "+Inf"],
          ],
        },
        { name: "empty", labels: {}, points: [] },
      ],
    });
    assert.equal(
      renderOutput(CONTENT_TYPES.timeseries, body),
      [
        "| series | points | min | max | last |",
        "|---|---|---|---|---|",
        '| up{job="api"} | 4 | 0.5 | +Inf | +Inf |',
        "| empty | 0 |  |  |  |",
      ].join("\n"),
    );
    assert.equal(renderOutput(CONTENT_TYPES.timeseries, '{"resultType":"matrix","series":[]}'), "_No data._");
  });

  it("renders tables as Markdown tables with escaped pipes and ISO times", () => {
    const body = JSON.stringify({
      columns: [
        { name: "alert", type: "string" },
        { name: "since", type: "time" },
        { name: "v", type: "number" },
      ],
      rows: [
        ["a|b", 1764385200000, "0.9"],
        ["line\nbreak", null, "1"],
      ],
    });
    assert.equal(
      renderOutput(CONTENT_TYPES.table, body),
      [
        "| alert | since | v |",
        "|---|---|---|",
        "| a\\|b | 2025-11-29T03:00:00Z | 0.9 |",
        "| line break |  | 1 |",
      ].join("\n"),
    );
  });

  it("renders text, JSON, logs and HTTP responses as code blocks, and bad bodies as text", () => {
    assert.equal(renderOutput("text/plain", "a\nb"), "```\na\nb\n```");
    assert.equal(renderOutput(CONTENT_TYPES.json, '{"a":1}'), '```json\n{\n  "a": 1\n}\n```');
    assert.equal(
      renderOutput(
        CONTENT_TYPES.logs,
        JSON.stringify({ lines: [{ timeMs: 1764385200000, line: "GET / 502", level: "error" }] }),
      ),
      "```\n2025-11-29T03:00:00Z error GET / 502\n```",
    );
    assert.match(
      renderOutput(
        CONTENT_TYPES.http,
        JSON.stringify({
          request: { method: "GET", url: "http://x/h" },
          status: 503,
          statusText: "Service Unavailable",
          headers: [],
          bodyKind: "text",
          body: "down",
          truncated: false,
          bodyBytes: 4,
        }),
      ),
      /`GET http:\/\/x\/h` → \*\*503 Service Unavailable\*\*\n\n```\ndown\n```/,
    );
    assert.match(
      renderOutput(CONTENT_TYPES.table, "not json"),
      /^_The output does not match application\/vnd\.databook\.table\+json \(the body is not valid JSON .*\); shown as text:_\n\n```\nnot json\n```$/,
    );
    assert.match(
      renderOutput(CONTENT_TYPES.timeseries, JSON.stringify({ resultType: "matrix", series: null })),
      /does not match .*series is not a list/,
    );
    assert.match(
      renderOutput(CONTENT_TYPES.logs, JSON.stringify({ lines: [null] })),
      /lines\[0\] is not \{timeMs, line\}/,
    );
    assert.equal(renderOutput("application/x-unknown", "raw"), "```\nraw\n```");
    assert.equal(codeBlock("has ``` inside"), "````\nhas ``` inside\n````");
  });
});

describe("time series summaries in the postmortem", () => {
  const body = (name: string, values: string[]) =>
    JSON.stringify({
      resultType: "matrix",
      series: [{ name, labels: { __name__: name }, points: values.map((v, i) => [1_700_000_000_000 + i * 15_000, v]) }],
    });
  const row = (md: string) => md.split("\n").at(-1);

  it("writes values in the chart's unit with 4 significant digits, inferred from the metric name", () => {
    assert.equal(
      row(
        renderOutput(
          CONTENT_TYPES.timeseries,
          body("http_request_duration_seconds", ["0.24", "NaN", "1.5", "0.0123456"]),
        ),
      ),
      "| http_request_duration_seconds | 4 | 12.35 ms | 1.5 s | 12.35 ms |",
    );
    assert.equal(
      row(renderOutput(CONTENT_TYPES.timeseries, body("process_resident_memory_bytes", ["819200", "+Inf"]))),
      "| process_resident_memory_bytes | 2 | 800 KiB | +Inf | +Inf |",
    );
  });

  it("takes @unit= over the name, and leaves a value without a known unit a plain number", () => {
    const ratio = body("errors", ["0.5", "0.25"]);
    assert.equal(
      row(renderOutput(CONTENT_TYPES.timeseries, ratio, { unit: "percentunit" })),
      "| errors | 2 | 25% | 50% | 25% |",
    );
    assert.equal(row(renderOutput(CONTENT_TYPES.timeseries, ratio)), "| errors | 2 | 0.25 | 0.5 | 0.25 |");
  });
});
