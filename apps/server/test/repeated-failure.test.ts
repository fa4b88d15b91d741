import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { REPEAT_EVERY_MS, repeatedFailureLog } from "../src/notify/repeated-failure.ts";

// The outbox looks at the database once a second; while PostgreSQL is down every look fails. The
// log must say so once, then about once per REPEAT_EVERY_MS, and say when it works again. The clock
// is the test's, so nothing here depends on timing.

describe("a failure that keeps repeating", () => {
  it("is logged at once, then once per 30 s while it lasts, and its recovery once", () => {
    let t = 1_000_000;
    const lines: string[] = [];
    const f = repeatedFailureLog({ what: "the notification outbox", log: (l) => lines.push(l), nowMs: () => t });
    f.ok();
    assert.deepEqual(lines, [], "working all along: nothing to say");
    // 65 failed looks, one a second (the outbox's POLL_MS)
    for (let i = 0; i < 65; i++, t += 1000) f.failed("connect ECONNREFUSED 127.0.0.1:5432");
    assert.equal(REPEAT_EVERY_MS, 30_000);
    assert.equal(lines.length, 3, `at 0 s, 30 s and 60 s, not 65 lines: ${lines.join(" | ")}`);
    assert.equal(lines[0], "the notification outbox failed: connect ECONNREFUSED 127.0.0.1:5432");
    assert.match(lines[1]!, /failed 29 more times since the last report/);
    assert.match(lines[2]!, /failed 29 more times since the last report/);
    f.ok();
    f.ok();
    assert.equal(lines.length, 4, "one line for the recovery, not one per look");
    assert.equal(lines[3], "the notification outbox works again (it had been failing for 65 s)");
    // a new outage is reported at once again, without the old count
    f.failed("again");
    assert.equal(lines[4], "the notification outbox failed: again");
  });
});
