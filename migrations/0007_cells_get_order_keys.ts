// The record channel (docs/architecture.md): runs and the archived flag leave the co-edited
// document, and each cell gets a fractional-index order key, so a move is one field change.
// Every stored document is rewritten — not only those opened later — so the export and search see
// the new shape at once. The runs come back from the incident log through the record channel.
// Self-contained on purpose: a migration must not change when the server's code does.
import type { Database } from "better-sqlite3";
import { generateNKeysBetween } from "fractional-indexing";
import * as Y from "yjs";

export const rewrites = true;

export function up(db: Database): void {
  const notebooks = db.prepare("SELECT notebook_id, data, upto_seq FROM doc_snapshots").all() as {
    notebook_id: string;
    data: Buffer;
    upto_seq: number;
  }[];
  const updates = db.prepare("SELECT seq, data FROM doc_updates WHERE notebook_id = ? AND seq > ? ORDER BY seq");
  const save = db.prepare("UPDATE doc_snapshots SET data = ?, upto_seq = ? WHERE notebook_id = ?");
  const drop = db.prepare("DELETE FROM doc_updates WHERE notebook_id = ?");
  for (const nb of notebooks) {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, nb.data);
    let upto = nb.upto_seq;
    for (const u of updates.all(nb.notebook_id, nb.upto_seq) as { seq: number; data: Buffer }[]) {
      Y.applyUpdate(doc, u.data);
      upto = u.seq;
    }
    const cells = doc.getArray("cells");
    const meta = doc.getMap("meta");
    const maps = cells.toArray().filter((c): c is Y.Map<unknown> => c instanceof Y.Map);
    const keys = generateNKeysBetween(null, null, maps.length);
    doc.transact(() => {
      maps.forEach((m, i) => {
        m.delete("run");
        if (typeof m.get("order") !== "string") m.set("order", keys[i]!);
      });
      meta.delete("archived");
      meta.delete("archivedAtMs");
    });
    save.run(Y.encodeStateAsUpdate(doc), upto, nb.notebook_id);
    drop.run(nb.notebook_id);
    doc.destroy();
  }
}
