import type { Principal } from "./principal.ts";

/** Distinct, readable-on-both-themes colours for people (cursor, presence dot). */
export const PEOPLE_COLOURS = [
  "#e5484d",
  "#2f81f7",
  "#30a46c",
  "#f76b15",
  "#8e4ec6",
  "#12a594",
  "#d6409f",
  "#a18072",
  "#0090ff",
  "#bd8e00",
] as const;

/** A stable colour for a principal id (FNV-1a hash into {@link PEOPLE_COLOURS}). */
export function colourFor(id: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return PEOPLE_COLOURS[(h >>> 0) % PEOPLE_COLOURS.length]!;
}

/**
 * The `user` field of a peer's awareness state. The server writes it from the connection's
 * principal and role, whatever the peer sent (y-codemirror.next reads `name`, `color`, `colorLight`).
 */
export type PresenceUser = {
  name: string;
  color: string;
  colorLight: string;
  role: "editor" | "viewer";
  kind: Principal["kind"];
  id: string;
};

/** The presence a server stamps for a principal. */
export function presenceFor(p: Principal, role: "editor" | "viewer"): PresenceUser {
  const color = colourFor(p.id);
  return { name: p.name, color, colorLight: `${color}33`, role, kind: p.kind, id: p.id };
}

/** Largest awareness (presence) update a connection may send, in bytes; larger ones close it with 4413. */
export const MAX_PRESENCE_BYTES = 64 * 1024;
