import { CLOSE_CODES, closeReason, PROTOCOL_VERSION } from "@databook/wire";
import type { FastifyInstance } from "fastify";
import type { Services } from "../app.ts";
import { access } from "../auth/rules.ts";
import { servePeer } from "../collab/connection.ts";

/**
 * The co-editing WebSocket (y-websocket protocol, docs/api.md). Access is decided at the upgrade
 * from the session cookie (never from `?name=` or `?token=`); a refusal is a close code the page
 * understands. Each connection is registered by principal so an access change closes it at once.
 */
export async function collabRoutes(app: FastifyInstance, { services: s }: { services: Services }) {
  // Bound children: a fan-out sends one message per peer per update, so skip the label hashing.
  const messageCounters = new Map<string, ReturnType<typeof s.metrics.wsMessages.labels>>();
  const outCounter = s.metrics.wsMessages.labels("out", "any");
  const messageCounter = (direction: string, type: string) => {
    if (direction === "out") return outCounter;
    const k = `${direction}|${type}`;
    let c = messageCounters.get(k);
    if (!c) {
      c = s.metrics.wsMessages.labels(direction, type);
      messageCounters.set(k, c);
    }
    return c;
  };
  const stats = {
    message: (direction: "in" | "out", type: string) => messageCounter(direction, type).inc(),
    dropped: (reason: string) => s.metrics.wsDropped.inc({ reason }),
    connected: (r: string, delta: 1 | -1) => s.metrics.connections.inc({ role: r }, delta),
  };

  app.get(
    "/ws/notebooks/:id",
    { websocket: true, config: access.notebook("viewer", { socket: true }) },
    (socket, req) => {
      const close = (code: number) => socket.close(code, closeReason(code) ?? "");
      // a tab still running the script from before an upgrade: it cannot speak this protocol
      if (Number((req.query as Record<string, unknown>).v) !== PROTOCOL_VERSION) return close(CLOSE_CODES.UPGRADED);
      if (req.socketRefusal) return close(req.socketRefusal.code);
      const { notebook, role } = req.notebookAccess!;
      let unregister: (() => void) | undefined;
      const handle = servePeer({
        socket,
        docs: s.docs,
        notebookId: notebook.id,
        role: role === "viewer" ? "viewer" : "editor",
        principal: req.identity.principal!,
        maxFrameBytes: s.maxFrameBytes,
        // while the record is read (just loaded), the state the access check read a moment ago
        isArchived: () => s.record.loadedState(notebook.id)?.archived ?? notebook.archived,
        recordSnapshot: () => s.record.snapshot(notebook.id),
        onClose: () => unregister?.(),
        onServerError: (err) =>
          app.log.error(
            { err, notebookId: notebook.id },
            "loading a notebook for a peer failed; its socket was closed",
          ),
        stats,
      });
      unregister = s.live.add({ identity: req.identity, notebookId: notebook.id, role, close: handle.close });
    },
  );
}
