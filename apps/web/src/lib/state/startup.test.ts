import assert from "node:assert/strict";
import { it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Startup } from "./startup.ts";

// whenIdle falls back to a timer of at most 16 ms where requestIdleCallback is missing (Node)
const idle = () => sleep(40);

it("nothing that waits runs before the first editor mounted; all of it runs after", async () => {
  const s = new Startup(60_000);
  const ran: string[] = [];
  s.whenSettled(() => ran.push("chart"));
  s.whenSettled(() => ran.push("markdown"));
  await idle();
  assert.deepEqual([...ran], [], "waiting work stays queued while the first editor mounts");
  s.settle();
  assert.deepEqual([...ran], [], "started at an idle moment, not inside the editor's own task");
  await idle();
  assert.deepEqual([...ran].sort(), ["chart", "markdown"]);
  s.whenSettled(() => ran.push("late"));
  await idle();
  assert.ok(ran.includes("late"), "work asked for after settling still runs");
  s.destroy();
});

it("only the first cell claims the first editor, and none after the page settled", () => {
  const s = new Startup(60_000);
  assert.equal(s.claimFirstEditor(), true);
  assert.equal(s.claimFirstEditor(), false, "a second cell waits like the rest");
  const t = new Startup(60_000);
  t.settle();
  assert.equal(t.claimFirstEditor(), false, "after settling, editors mount as they come near the viewport");
  s.destroy();
  t.destroy();
});

it("cancelled work never runs, whether cancelled before or after the page settled", async () => {
  const s = new Startup(60_000);
  const ran: string[] = [];
  const cancelEarly = s.whenSettled(() => ran.push("early"));
  cancelEarly();
  s.settle();
  const cancelQueued = s.whenSettled(() => ran.push("queued"));
  cancelQueued();
  await idle();
  assert.deepEqual([...ran], []);
  s.destroy();
});

it("a page whose first cells have no editor settles at once; one with a claimed editor waits for it", async () => {
  const none = new Startup(60_000);
  none.settleUnlessClaimed();
  assert.equal(none.settled, true, "a Markdown-only notebook has nothing to wait for");
  const claimed = new Startup(60_000);
  claimed.claimFirstEditor();
  claimed.settleUnlessClaimed();
  assert.equal(claimed.settled, false, "the claimed editor settles it when it has mounted");
  none.destroy();
  claimed.destroy();
});

it("settles by itself after the fallback time when the first editor never mounts", async () => {
  const s = new Startup(30);
  s.claimFirstEditor();
  let ran = false;
  s.whenSettled(() => {
    ran = true;
  });
  await sleep(100);
  assert.equal(s.settled, true);
  assert.equal(ran, true, "charts and the rest are not held back for ever by an editor that failed");
});

it("a page that left stops its fallback and drops what waited", async () => {
  const s = new Startup(30);
  let ran = false;
  s.whenSettled(() => {
    ran = true;
  });
  s.destroy();
  await sleep(100);
  assert.equal(s.settled, false);
  assert.equal(ran, false);
});
