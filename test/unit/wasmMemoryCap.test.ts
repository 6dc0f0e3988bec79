import * as assert from 'node:assert/strict';
import { inspectWasm } from '../../src/wasm/inspect';
import { capMemory } from '../../src/wasm/memoryCap';
import { buildWat, watToWasm } from '../helpers/wat';

function capped(bytes: Uint8Array, maxPages: number): Uint8Array {
  const result = capMemory(bytes, maxPages);
  assert.ok(result.ok, result.ok ? '' : result.problem);
  return result.bytes;
}

describe('capMemory', () => {
  it('adds a maximum to a memory that has none', async () => {
    const bytes = capped(await buildWat('memory-hog'), 64);
    assert.deepEqual(inspectWasm(bytes).memory, { initialPages: 1, maximumPages: 64, exported: true, imported: false });
    assert.ok(WebAssembly.validate(bytes));
  });

  it('lowers a maximum over the cap, keeping the rest of the module intact', async () => {
    const original = await buildWat('uppercase');
    const withMax = await watToWasm('(module (memory (export "memory") 2 60000) (func (export "_start")))');
    const bytes = capped(withMax, 100);
    assert.deepEqual(inspectWasm(bytes).memory, { initialPages: 2, maximumPages: 100, exported: true, imported: false });
    assert.deepEqual(inspectWasm(bytes).exports, inspectWasm(withMax).exports);
    assert.ok(WebAssembly.validate(bytes));
    assert.ok(WebAssembly.validate(capped(original, 100)));
  });

  it('re-encodes a section whose size changes across a LEB128 byte boundary', async () => {
    // 127 bytes of data push the memory section's neighbours around; the cap needs a 3-byte LEB (20000 > 16383).
    const bytes = capped(await watToWasm(`(module (memory (export "memory") 1) (data (i32.const 0) "${'x'.repeat(127)}"))`), 20000);
    assert.equal(inspectWasm(bytes).memory?.maximumPages, 20000);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
    const memory = instance.exports.memory as WebAssembly.Memory;
    assert.equal(new Uint8Array(memory.buffer)[126], 'x'.charCodeAt(0));
  });

  it('leaves a module whose maximum is within the cap unchanged', async () => {
    const bytes = await watToWasm('(module (memory 1 4))');
    const result = capMemory(bytes, 8);
    assert.ok(result.ok);
    assert.equal(result.changed, false);
    assert.equal(result.bytes, bytes);
  });

  it('caps an imported memory', async () => {
    const bytes = capped(await watToWasm('(module (import "env" "memory" (memory 1)) (import "env" "f" (func)))'), 16);
    assert.deepEqual(inspectWasm(bytes).memory, { initialPages: 1, maximumPages: 16, exported: false, imported: true });
    assert.ok(WebAssembly.validate(bytes));
  });

  it('refuses initial memory over the cap with a message in MiB', async () => {
    const result = capMemory(await buildWat('big-initial-memory'), 4096);
    assert.equal(result.ok, false);
    assert.match(!result.ok ? result.problem : '', /declares 256\.06 MiB of initial memory, more than the memory limit of 256 MiB per job/);
  });

  it('makes memory.grow fail at the cap, so a memory hog stops there', async () => {
    const bytes = capped(await buildWat('memory-hog'), 5 * 16);
    let exitCode = -1;
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {
      wasi_snapshot_preview1: {
        proc_exit: (code: number) => {
          exitCode = code;
          throw new Error('exit');
        },
      },
    });
    assert.throws(() => (instance.exports._start as () => void)(), /exit/);
    assert.equal(exitCode, 5, 'the hog reached 5 MiB and no more');
  });
});
