/**
 * Remote caret names that show on hover, or for {@link PEER_NAME_SHOW_MS} after that person types
 * or moves their caret, then fade — so a name never sits over the line above while people read.
 * y-codemirror.next draws the caret and its name (`.cm-ySelectionInfo`, hidden unless hovered);
 * this marks a caret `cm-db-peer-active` while its person is active.
 *
 * Activity is read from two places, because either alone misses some: the awareness state
 * (their caret moved or appeared) and the cell's Y.Text (their keystrokes: typing at the very
 * end of a text leaves the caret's relative position, hence the awareness state, unchanged).
 */
import { type EditorView, ViewPlugin } from "@codemirror/view";
import type { Awareness } from "y-protocols/awareness";
import type * as Y from "yjs";

/** How long a remote caret's name stays after that person's last keystroke or caret move, in ms. */
export const PEER_NAME_SHOW_MS = 2500;

/** The class that shows a caret's name (apps/web's editor theme styles it). */
export const PEER_ACTIVE_CLASS = "cm-db-peer-active";

type PeerUser = { name?: unknown };

/**
 * The CodeMirror extension for one cell's editor: `text` is its Y.Text, `awareness` the notebook's
 * awareness (client ids there are Yjs client ids, as y-codemirror.next and y-websocket use them).
 */
export function peerNameFlash(text: Y.Text, awareness: Awareness) {
  return ViewPlugin.define((view: EditorView) => {
    // Per person, by the name their caret shows: when it hides.
    const until = new Map<string, number>();
    let soon: ReturnType<typeof setTimeout> | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const mark = (clients: Iterable<number>) => {
      const now = Date.now();
      for (const id of clients) {
        if (id === awareness.clientID) continue;
        const user = (awareness.getStates().get(id) as { user?: PeerUser } | undefined)?.user;
        if (typeof user?.name === "string") until.set(user.name, now + PEER_NAME_SHOW_MS);
      }
      later();
    };
    // After y-codemirror.next has redrawn its carets for the same change (its listeners may run
    // after ours). A timer, not a frame: a page in the background still gets it.
    const later = () => {
      soon ??= setTimeout(apply, 0);
    };
    const apply = () => {
      soon = undefined;
      const now = Date.now();
      let next = Number.POSITIVE_INFINITY;
      for (const [k, t] of until) {
        if (t <= now) until.delete(k);
        else next = Math.min(next, t);
      }
      for (const caret of view.dom.querySelectorAll<HTMLElement>(".cm-ySelectionCaret")) {
        const name = caret.querySelector(".cm-ySelectionInfo")?.textContent ?? "";
        caret.classList.toggle(PEER_ACTIVE_CLASS, until.has(name));
      }
      clearTimeout(timer);
      if (Number.isFinite(next)) timer = setTimeout(apply, next - now + 20);
    };

    const onAwareness = ({ added, updated }: { added: number[]; updated: number[] }) => mark([...added, ...updated]);
    const onText = (_event: Y.YTextEvent, tr: Y.Transaction) => {
      if (tr.local) return;
      // Whose clock this change advanced: the authors of the inserted text. (A deletion does not
      // say who deleted; their caret moving, in the awareness state, covers most of those.)
      const clients: number[] = [];
      for (const [client, clock] of tr.afterState) if (clock > (tr.beforeState.get(client) ?? 0)) clients.push(client);
      mark(clients);
    };
    awareness.on("change", onAwareness);
    text.observe(onText);
    return {
      update() {
        // Carets are redrawn when the document changes; keep the marks on the new nodes.
        if (until.size) later();
      },
      destroy() {
        awareness.off("change", onAwareness);
        text.unobserve(onText);
        clearTimeout(soon);
        clearTimeout(timer);
      },
    };
  });
}
