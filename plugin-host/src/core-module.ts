/**
 * Rewrites a core WebAssembly module so the host owns its linear memory.
 *
 * Every memory the module *defines* becomes an *import* (`databook:host` / `memory<N>`), and every
 * active data segment is taken out of the module (replaced by an empty passive segment, so segment
 * indices and the data count stay valid) and applied to a byte image instead. The host then gives
 * each new instance a memory whose bytes equal that image: the memory a never-used instance would
 * start with, made by one `set()` of a reused buffer instead of V8 applying ~10,000 segments and
 * faulting in fresh pages (see docs/plugin-host.md for the measured effect). Owning the memory also
 * lets the host set its `maximum`, which is how `limits.memory_mb` is enforced.
 *
 * Binary format reference: the WebAssembly core specification, "Binary Format" (modules,
 * sections, imports, memories, data segments).
 */

/** One host-owned memory of a rewritten module. */
export type HostMemory = {
  /** Import module and name the rewritten module uses for this memory. */
  module: string;
  name: string;
  /** Pages (64 KiB) the memory starts with, and the module's own maximum, if it declared one. */
  initialPages: number;
  declaredMaxPages: number | undefined;
  /** The memory's starting bytes (initialPages × 64 KiB): zeros plus every active data segment. */
  image: Uint8Array;
};

/** Result of {@link rewriteCoreModule}. `memories` is empty when the module defines none. */
export type RewrittenModule = { bytes: Uint8Array; memories: HostMemory[] };

/** Import module name under which host-owned memories are supplied. */
export const HOST_MEMORY_MODULE = "databook:host";

const PAGE = 65536;

class Reader {
  readonly buf: Uint8Array;
  pos = 0;
  constructor(buf: Uint8Array) {
    this.buf = buf;
  }
  byte(): number {
    if (this.pos >= this.buf.length) throw new Error("unexpected end of module");
    return this.buf[this.pos++]!;
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 35) throw new Error("bad LEB128");
    }
  }
  /** Signed LEB128 up to 32 bits (i32.const immediates). */
  s32(): number {
    let result = 0;
    let shift = 0;
    let b: number;
    do {
      b = this.byte();
      result |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80 && shift < 35);
    if (shift < 32 && b & 0x40) result |= -1 << shift;
    return result;
  }
  bytes(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) throw new Error("unexpected end of module");
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  name(): string {
    return new TextDecoder().decode(this.bytes(this.u32()));
  }
}

function u32(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function nameBytes(s: string): number[] {
  const b = new TextEncoder().encode(s);
  return [...u32(b.length), ...b];
}

type Section = { id: number; body: Uint8Array };

/** Skips one import/export descriptor's type of the given kind. */
function skipImportDesc(r: Reader, kind: number): void {
  if (kind === 0x00)
    r.u32(); // func: type index
  else if (kind === 0x01) {
    r.byte(); // table: reftype
    skipLimits(r);
  } else if (kind === 0x02) skipLimits(r);
  else if (kind === 0x03) {
    r.byte(); // global: valtype
    r.byte(); // mutability
  } else if (kind === 0x04) {
    r.byte(); // tag: attribute
    r.u32();
  } else throw new Error(`unknown import kind ${kind}`);
}

function skipLimits(r: Reader): void {
  const flags = r.byte();
  r.u32();
  if (flags & 0x01) r.u32();
}

/**
 * Rewrites one core module (see the file comment). Throws with a reason when the module cannot be
 * rewritten safely (64-bit or shared memory, an active segment whose offset is not a constant, a
 * segment outside the initial memory); the caller treats that as a broken plugin.
 * @param bytes a core module binary; `index` numbers its memory imports (`memory<index>_<n>`).
 */
export function rewriteCoreModule(bytes: Uint8Array, index: number): RewrittenModule {
  const r = new Reader(bytes);
  const magic = r.bytes(8);
  if (magic[0] !== 0x00 || magic[1] !== 0x61 || magic[2] !== 0x73 || magic[3] !== 0x6d)
    throw new Error("not a core wasm module");
  const sections: Section[] = [];
  while (r.pos < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    sections.push({ id, body: r.bytes(size) });
  }

  const memSection = sections.find((s) => s.id === 5);
  if (!memSection) return { bytes, memories: [] };

  // Defined memories, in order.
  const mr = new Reader(memSection.body);
  const defined: { flags: number; min: number; max: number | undefined }[] = [];
  for (let n = mr.u32(); n > 0; n--) {
    const flags = mr.byte();
    if (flags & ~0x01) throw new Error(`memory with flags 0x${flags.toString(16)} (shared or 64-bit) is not supported`);
    const min = mr.u32();
    const max = flags & 0x01 ? mr.u32() : undefined;
    defined.push({ flags, min, max });
  }

  // Existing imports: keep them, count imported memories (they come first in the index space).
  const importSection = sections.find((s) => s.id === 2);
  let importCount = 0;
  let importedMemories = 0;
  let importEntries: Uint8Array = new Uint8Array(0);
  if (importSection) {
    const ir = new Reader(importSection.body);
    importCount = ir.u32();
    const start = ir.pos;
    for (let n = 0; n < importCount; n++) {
      ir.name();
      ir.name();
      const kind = ir.byte();
      if (kind === 0x02) importedMemories++;
      skipImportDesc(ir, kind);
    }
    importEntries = importSection.body.subarray(start, ir.pos);
  }

  const memories: HostMemory[] = defined.map((d, n) => ({
    module: HOST_MEMORY_MODULE,
    name: `memory${index}_${n}`,
    initialPages: d.min,
    declaredMaxPages: d.max,
    image: new Uint8Array(d.min * PAGE),
  }));

  // New import entries, appended after the existing ones so every memory keeps its index.
  const added: number[] = [];
  for (const m of memories) {
    added.push(...nameBytes(m.module), ...nameBytes(m.name), 0x02);
    if (m.declaredMaxPages === undefined) added.push(0x00, ...u32(m.initialPages));
    else added.push(0x01, ...u32(m.initialPages), ...u32(m.declaredMaxPages));
  }
  const newImportBody = concat([u32(importCount + memories.length), importEntries, added]);

  // Data segments: apply active ones to the image, leave an empty passive segment in their place.
  const dataSection = sections.find((s) => s.id === 11);
  let newDataBody: Uint8Array | undefined;
  if (dataSection) {
    const dr = new Reader(dataSection.body);
    const count = dr.u32();
    const out: (number[] | Uint8Array)[] = [u32(count)];
    for (let n = 0; n < count; n++) {
      const segStart = dr.pos;
      const flag = dr.u32();
      if (flag === 1) {
        const len = dr.u32();
        dr.bytes(len);
        out.push(dataSection.body.subarray(segStart, dr.pos));
        continue;
      }
      if (flag !== 0 && flag !== 2) throw new Error(`data segment ${n} has unknown flag ${flag}`);
      const memIndex = flag === 2 ? dr.u32() : 0;
      const op = dr.byte();
      if (op !== 0x41) throw new Error(`data segment ${n} has a non-constant offset (opcode 0x${op.toString(16)})`);
      const offset = dr.s32() >>> 0;
      if (dr.byte() !== 0x0b) throw new Error(`data segment ${n} has an offset expression longer than one i32.const`);
      const data = dr.bytes(dr.u32());
      const local = memIndex - importedMemories;
      const target = memories[local];
      if (!target)
        throw new Error(`data segment ${n} writes to imported memory ${memIndex}, which the host does not own`);
      if (offset + data.length > target.image.length)
        throw new Error(`data segment ${n} lies outside the initial memory`);
      target.image.set(data, offset);
      out.push([0x01, 0x00]); // passive, zero bytes
    }
    newDataBody = concat(out);
  }

  const rebuilt: (number[] | Uint8Array)[] = [bytes.subarray(0, 8)];
  let importWritten = false;
  const writeSection = (id: number, body: Uint8Array) => rebuilt.push([id, ...u32(body.length)], body);
  for (const s of sections) {
    // The import section (id 2) goes after the type section (id 1) and before everything else
    // except custom sections; add it there when the module had none.
    if (!importWritten && s.id !== 0 && s.id !== 1 && s.id !== 2) {
      writeSection(2, newImportBody);
      importWritten = true;
    }
    if (s.id === 2) {
      writeSection(2, newImportBody);
      importWritten = true;
    } else if (s.id === 5) {
      // every defined memory is now imported: drop the section
    } else if (s.id === 11 && newDataBody) writeSection(11, newDataBody);
    else writeSection(s.id, s.body);
  }
  if (!importWritten) writeSection(2, newImportBody);
  return { bytes: concat(rebuilt), memories };
}

function concat(parts: (number[] | Uint8Array)[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Granule of {@link imageExtents}: the system's page size, the unit in which memory becomes resident. */
const EXTENT_GRANULE = 4096;

/**
 * The parts of a memory image that are not zero, as `[offset, length]` runs of whole 4 KiB
 * pages, in ascending order, and their bytes one after another. A new memory is all zeros, so
 * writing just these gives the image while leaving every zero page untouched (not resident).
 */
export function imageExtents(image: Uint8Array): { extents: [number, number][]; data: Uint8Array } {
  const extents: [number, number][] = [];
  for (let page = 0; page < image.length; page += EXTENT_GRANULE) {
    const end = Math.min(image.length, page + EXTENT_GRANULE);
    let nonZero = false;
    for (let i = page; i < end; i++) {
      if (image[i] !== 0) {
        nonZero = true;
        break;
      }
    }
    if (!nonZero) continue;
    const last = extents.at(-1);
    if (last && last[0] + last[1] === page) last[1] += end - page;
    else extents.push([page, end - page]);
  }
  const data = new Uint8Array(extents.reduce((n, [, len]) => n + len, 0));
  let at = 0;
  for (const [offset, len] of extents) {
    data.set(image.subarray(offset, offset + len), at);
    at += len;
  }
  return { extents, data };
}
