import { consistencyProof, encodeVerifierKey, toBase64, verifierKeyOf } from "@databook/tlog";
import type { FastifyInstance } from "fastify";
import type { Services } from "../app.ts";
import { access } from "../auth/rules.ts";
import { httpError } from "../http-errors.ts";
import { createCheckpointStore } from "../log/checkpoints.ts";
import { leavesOf } from "../log/tree.ts";
import { notebookOf } from "./notebooks.ts";

/** The notebook log's signed checkpoint and the key that signs it (docs/api.md, docs/incident-log.md). */
export async function checkpointRoutes(app: FastifyInstance, { services: s }: { services: Services }) {
  const store = createCheckpointStore(s.sql);
  app.get("/api/notebooks/:id/checkpoint", { config: access.notebook("viewer") }, async (req) => {
    const { notebook } = notebookOf(req);
    const from = (req.query as Record<string, unknown>).from;
    const cp = await s.checkpoints.fresh(notebook.id);
    if (!cp) throw httpError(404, "not-found", `notebook ${notebook.id} has no log entries yet`);
    let consistency: { fromSize: number; proof: string[] } | undefined;
    if (from !== undefined) {
      const m = typeof from === "string" && /^(0|[1-9][0-9]*)$/.test(from) ? Number(from) : Number.NaN;
      if (!Number.isSafeInteger(m) || m > cp.size)
        throw httpError(
          400,
          "bad-input",
          `from must be the tree size of a checkpoint you kept, a whole number from 0 to ${cp.size}`,
        );
      const leaves = leavesOf(s.log.entries(notebook.id)).slice(0, cp.size);
      consistency = { fromSize: m, proof: consistencyProof(m, cp.size, leaves).map(toBase64) };
    }
    const current = s.checkpoints.key;
    return {
      checkpoint: cp.note,
      origin: cp.origin,
      size: cp.size,
      rootHash: cp.rootHash,
      keyId: cp.keyId,
      signedAtMs: cp.signedAtMs,
      verifierKey: encodeVerifierKey(verifierKeyOf(current)),
      retiredKeys: (await store.keys())
        .filter((k) => k.keyId !== current.keyId)
        .map((k) => ({ verifierKey: k.verifierKey, firstUsedMs: k.firstUsedMs })),
      ...(consistency ? { consistency } : {}),
    };
  });
}
