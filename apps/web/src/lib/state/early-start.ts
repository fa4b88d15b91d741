/**
 * Takes over what the page's first script (src/app.html) started for `/n/<id>` while the app's
 * code was still loading: the `GET /api/notebooks/<id>` request and the notebook's y-websocket
 * socket, with every socket event it saw meanwhile. Opening a notebook then waits for neither
 * round trip after the code has loaded (issue 15's "page usable" figure).
 *
 * Each is taken once; anything not taken within 15 s is closed by app.html's script itself.
 */
import { PROTOCOL_VERSION } from "@databook/wire";

/** What app.html's script leaves on `window.__databookEarly` (keep both files in step). */
type Early = {
  /** The notebook id from the path. */
  id: string;
  /** `y-websocket` protocol version the socket was opened with (app.html spells it out). */
  v: number;
  info?: Promise<Response>;
  ws?: WebSocket;
  /** Socket events seen before the take-over, in order. */
  events: Event[];
  /** Removes the buffering listeners. */
  stop: () => void;
  taken?: boolean;
};

function early(id: string): Early | undefined {
  const e = (globalThis as { __databookEarly?: Early }).__databookEarly;
  return e && e.id === id && !e.taken ? e : undefined;
}

/**
 * Drops what app.html's script started, closing its socket: called on the first navigation inside
 * the app, after which neither may be used — e.g. a page opened signed out goes to the sign-in
 * page and comes back signed in, when the early answers still say "not signed in".
 */
export function expireEarly(): void {
  const e = (globalThis as { __databookEarly?: Early }).__databookEarly;
  if (!e || e.taken) return;
  e.taken = true;
  e.info = undefined;
  e.stop();
  e.ws?.close();
  e.ws = undefined;
}

/** The notebook-info request already under way for `id`, once; undefined when there is none. */
export function takeEarlyInfo(id: string): Promise<Response> | undefined {
  const e = early(id);
  const info = e?.info;
  if (e) e.info = undefined;
  return info;
}

/**
 * A WebSocket class for y-websocket's `WebSocketPolyfill` option: its first construction for the
 * URL app.html's script opened returns that socket, and replays (right after y-websocket has set
 * its handlers, before any later event) the events it buffered; every other construction is a
 * plain WebSocket. A protocol version mismatch (app.html not updated) falls back to a new socket.
 */
export function adoptingWebSocket(id: string): typeof WebSocket {
  const Adopting = function (this: unknown, url: string | URL, protocols?: string | string[]) {
    const e = early(id);
    const ws = e?.ws;
    if (!e || !ws) return new WebSocket(url, protocols);
    if (e.v !== PROTOCOL_VERSION || ws.url !== new URL(url, location.href).href) {
      e.stop();
      e.ws = undefined;
      ws.close();
      return new WebSocket(url, protocols);
    }
    e.taken = true;
    e.ws = undefined;
    queueMicrotask(() => {
      e.stop();
      // Messages first: app.html's script already sent sync step 1, so the notebook is among them,
      // and y-websocket's own step 1 (sent on "open") then carries its state and gets a tiny answer.
      const events = e.events.splice(0);
      const order = (ev: Event) => (ev.type === "message" ? 0 : ev.type === "open" ? 1 : 2);
      for (const ev of events.sort((a, b) => order(a) - order(b))) {
        const on = { open: ws.onopen, message: ws.onmessage, close: ws.onclose, error: ws.onerror }[ev.type];
        (on as ((ev: Event) => void) | null)?.call(ws, ev);
      }
    });
    return ws;
  } as unknown as typeof WebSocket;
  Object.assign(Adopting, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
  return Adopting;
}
