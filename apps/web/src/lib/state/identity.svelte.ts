/**
 * Who this browser is: a display name (kept in localStorage under `databook.name`) and a colour
 * derived from it, so the same person gets the same colour in every tab and for every peer.
 */

/** Distinct, readable-on-both-themes colours for people (cursor, presence dot). */
const PEOPLE_COLOURS = [
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
];

/** Picks a stable colour for a name (FNV-1a hash into the palette). */
export function colourFor(name: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return PEOPLE_COLOURS[(h >>> 0) % PEOPLE_COLOURS.length]!;
}

function storage(): Storage | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined;
  }
}

/** The local user's name and colour; `name` is editable and persisted. */
export class Identity {
  name = $state("");
  color = $derived(colourFor(this.name));

  constructor() {
    const saved = storage()?.getItem("databook.name")?.trim();
    this.name = saved || `responder-${Math.floor(1000 + Math.random() * 9000)}`;
    if (!saved) storage()?.setItem("databook.name", this.name);
  }

  /** Renames this browser's user (empty names are ignored). */
  rename(name: string): void {
    const clean = name.trim().slice(0, 60);
    if (!clean) return;
    this.name = clean;
    storage()?.setItem("databook.name", clean);
  }
}
