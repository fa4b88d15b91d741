import assert from "node:assert/strict";
import { after, it } from "node:test";
import * as Y from "yjs";
import { addCell, cellText, connectClient, databook, signIn, spawnServer, tempDir, waitFor } from "./helpers.ts";

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

it("kill -9 during heavy editing loses no update that any peer had received", async () => {
  const t = tempDir();
  cleanups.push(t.cleanup);
  for (const n of ["ana", "bo", "cy", "vic"])
    assert.equal((await databook(["users", "add", n, "--password-stdin", "--data", t.dir], `${n}-password-1`)).code, 0);
  const s = await spawnServer(t.dir);
  cleanups.push(() => s.kill9());
  const people = await Promise.all(["ana", "bo", "cy", "vic"].map((n) => signIn(s.url, n, `${n}-password-1`)));
  const nb = (await people[0]!.api("/api/notebooks", "POST", { title: "crash", visibility: "signed-in" })).body;
  for (const p of people.slice(1, 3))
    await people[0]!.api(`/api/notebooks/${nb.id}/access/members`, "PUT", {
      subject: { kind: "user", id: p.id },
      role: "editor",
    });
  const editors = people.slice(0, 3).map((p) => p.ws(nb.id));
  const follower = people[3]!.ws(nb.id);
  const peers = [...editors, follower];
  cleanups.push(() => {
    for (const p of peers) p.destroy();
  });
  await Promise.all(peers.map((p) => p.synced));
  addCell(editors[0]!.doc, "c", "");
  await waitFor(
    () => editors.every((e) => cellText(e.doc, "c")) && cellText(follower.doc, "c") !== undefined,
    "every peer to see the cell",
  );

  // every editor types as fast as its timer allows, at random places, also adding cells
  let typing = true;
  const loops = editors.map((e, i) =>
    (async () => {
      let n = 0;
      while (typing) {
        const text = cellText(e.doc, "c")!;
        text.insert(Math.floor(Math.random() * (text.length + 1)), `${"abc"[i]}${n++}`);
        if (n % 50 === 0) addCell(e.doc, `c-${i}-${n}`, `cell ${n}`);
        await new Promise((r) => setImmediate(r));
      }
    })(),
  );
  await waitFor(() => cellText(follower.doc, "c")!.length > 3000, "heavy editing to reach the follower", 30_000);
  await s.kill9();
  typing = false;
  await Promise.all(loops);
  await waitFor(() => peers.every((p) => !p.provider.wsconnected), "every peer to see the connection drop");
  for (const p of peers) p.provider.disconnect(); // stop reconnect attempts to the dead port

  const s2 = await spawnServer(t.dir);
  cleanups.push(() => s2.stop());
  // sessions are stored server-side: the follower's survives the crash
  const fresh = connectClient(s2.wsBase, nb.id, people[3]!.headers.cookie!);
  cleanups.push(fresh.destroy);
  await fresh.synced;
  const stored = Y.decodeStateVector(Y.encodeStateVector(fresh.doc));

  // Whatever a peer received from the server (every client id but its own; the follower sends
  // nothing, so all of its state) must be in the stored document.
  let checked = 0;
  for (const p of peers) {
    const own = p === follower ? -1 : p.doc.clientID;
    for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVector(p.doc))) {
      if (client === own) continue;
      assert.ok(
        (stored.get(client) ?? 0) >= clock,
        `peer ${p.provider.awareness.clientID} had received client ${client} up to clock ${clock}, stored only ${stored.get(client) ?? 0}`,
      );
      checked++;
    }
  }
  assert.ok(checked >= 3 + 3 * 2, "each peer had received others' edits");
  // and the follower's copy is exactly reproducible from storage
  const merged = new Y.Doc();
  Y.applyUpdate(merged, Y.encodeStateAsUpdate(fresh.doc));
  const before = cellText(merged, "c")!.toString();
  Y.applyUpdate(merged, Y.encodeStateAsUpdate(follower.doc));
  assert.equal(cellText(merged, "c")!.toString(), before, "the follower had nothing the store lacks");
  assert.ok(before.length >= cellText(follower.doc, "c")!.length);
});
