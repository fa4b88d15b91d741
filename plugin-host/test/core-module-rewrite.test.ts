import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "@bytecodealliance/jco";
import { HOST_MEMORY_MODULE, rewriteCoreModule } from "../src/core-module.ts";

// A module with active segments in two pages, a passive segment used by memory.init, a declared
// maximum, and functions that read memory.
const WAT = `(module
  (memory (export "memory") 2 5)
  (data (i32.const 16) "first page")
  (data (i32.const 70000) "second page")
  (data $later "passive bytes")
  (func (export "init_passive") (memory.init $later (i32.const 40000) (i32.const 0) (i32.const 13)))
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`;

describe("core module rewrite (host-owned memory)", () => {
  it("produces an image byte-for-byte equal to a normally instantiated memory", async () => {
    const core = await parse(WAT);
    const original = new WebAssembly.Instance(new WebAssembly.Module(core as Uint8Array<ArrayBuffer>), {});
    const r = rewriteCoreModule(core, 0);
    assert.equal(r.memories.length, 1);
    const m = r.memories[0]!;
    assert.deepEqual([m.module, m.initialPages, m.declaredMaxPages], [HOST_MEMORY_MODULE, 2, 5]);
    const originalBytes = new Uint8Array((original.exports.memory as WebAssembly.Memory).buffer);
    assert.equal(Buffer.compare(Buffer.from(originalBytes), Buffer.from(m.image)), 0);
  });

  it("keeps segment indices valid and the module's behaviour the same on a host-provided memory", async () => {
    const core = await parse(WAT);
    const r = rewriteCoreModule(core, 0);
    const m = r.memories[0]!;
    const memory = new WebAssembly.Memory({ initial: m.initialPages, maximum: 3 });
    new Uint8Array(memory.buffer).set(m.image);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(r.bytes as Uint8Array<ArrayBuffer>), {
      [m.module]: { [m.name]: memory },
    });
    const e = inst.exports as {
      load(p: number): number;
      init_passive(): void;
      grow(n: number): number;
      memory: WebAssembly.Memory;
    };
    assert.equal(e.memory, memory, "the module exports the host's memory");
    assert.equal(String.fromCharCode(e.load(70000), e.load(70001)), "se");
    e.init_passive();
    assert.equal(String.fromCharCode(e.load(40000), e.load(40001)), "pa");
    // The host's maximum (3 pages) binds, below the module's own (5).
    assert.equal(e.grow(1), 2);
    assert.equal(e.grow(1), -1);
  });

  it("leaves a module without memory unchanged", async () => {
    const core = await parse(`(module (func (export "f") (result i32) (i32.const 1)))`);
    const r = rewriteCoreModule(core, 0);
    assert.equal(r.memories.length, 0);
    assert.equal(r.bytes, core);
  });

  it("refuses a data segment whose offset is not a constant", async () => {
    const core = await parse(`(module (global $g i32 (i32.const 0)) (memory 1) (data (global.get $g) "x"))`);
    assert.throws(() => rewriteCoreModule(core, 0), {
      message: "data segment 0 has a non-constant offset (opcode 0x23)",
    });
  });
});
