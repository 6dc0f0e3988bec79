import * as assert from 'node:assert/strict';
import { inspectWasm, WASI_MODULE, wasiCommandProblems, WasmFormatError } from '../../src/wasm/inspect';
import { readSections } from '../../src/wasm/sections';
import { buildWat, watToWasm } from '../helpers/wat';

describe('inspectWasm', () => {
  it('lists the imports, exports and memory of a WASI command', async () => {
    const info = inspectWasm(await buildWat('exit-code'));
    assert.deepEqual(info.imports, [
      { module: WASI_MODULE, name: 'fd_write', kind: 'function' },
      { module: WASI_MODULE, name: 'proc_exit', kind: 'function' },
    ]);
    assert.deepEqual(info.exports, [
      { name: 'memory', kind: 'memory' },
      { name: '_start', kind: 'function' },
    ]);
    assert.deepEqual(info.memory, { initialPages: 1, exported: true, imported: false });
    assert.deepEqual(wasiCommandProblems(info), []);
  });

  it('reads a declared maximum and an imported memory', async () => {
    const defined = inspectWasm(await watToWasm('(module (memory 2 10))'));
    assert.deepEqual(defined.memory, { initialPages: 2, maximumPages: 10, exported: false, imported: false });

    const imported = inspectWasm(await watToWasm('(module (import "env" "memory" (memory 3 7)) (export "memory" (memory 0)))'));
    assert.deepEqual(imported.memory, { initialPages: 3, maximumPages: 7, exported: true, imported: true });
    assert.deepEqual(imported.imports, [{ module: 'env', name: 'memory', kind: 'memory' }]);
  });

  it('reads every kind of import and export', async () => {
    const info = inspectWasm(
      await watToWasm(`(module
        (import "m" "t" (table 1 funcref))
        (import "m" "g" (global (mut i32)))
        (func $f)
        (table $t2 2 funcref)
        (global $g2 i64 (i64.const 0))
        (export "f" (func $f)) (export "t" (table $t2)) (export "g" (global $g2)))`),
    );
    assert.deepEqual(
      info.imports.map((i) => i.kind),
      ['table', 'global'],
    );
    assert.deepEqual(
      info.exports.map((e) => `${e.name}:${e.kind}`),
      ['f:function', 't:table', 'g:global'],
    );
    assert.equal(info.memory, undefined);
  });

  it('refuses bytes that are not wasm with a message that says so', () => {
    const text = new TextEncoder().encode('(module (func))');
    assert.throws(() => inspectWasm(text), (e: unknown) => {
      assert.ok(e instanceof WasmFormatError);
      assert.match(e.message, /not a WebAssembly module: it does not start with \\0asm/);
      return true;
    });
    assert.throws(() => inspectWasm(new Uint8Array()), /does not start with \\0asm/);
  });

  it('refuses a module cut inside its header or any section, naming what it was reading', async () => {
    const bytes = await buildWat('uppercase');
    // A cut exactly between two sections leaves a shorter but well-formed module.
    const boundaries = new Set(readSections(bytes).map((s) => s.start));
    for (let length = 4; length < bytes.length; length++) {
      if (boundaries.has(length)) continue;
      assert.throws(
        () => inspectWasm(bytes.subarray(0, length)),
        (e: unknown) => e instanceof WasmFormatError && /truncated/.test(e.message),
        `cut at ${length} of ${bytes.length} bytes`,
      );
    }
  });

  it('refuses another binary version (e.g. a component)', () => {
    const component = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00);
    assert.throws(() => inspectWasm(component), /unsupported WebAssembly binary version/);
  });

  it('refuses a section whose content disagrees with its size', () => {
    // header, then an export section of declared size 3 holding a name of length 5
    const bytes = Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 7, 3, 1, 5, 0x61);
    assert.throws(() => inspectWasm(bytes), /truncated or corrupt: it ends while reading the name of export 0/);
  });

  it('skips sections it does not need, such as custom and code sections', async () => {
    const bytes = await buildWat('uppercase');
    const custom = Uint8Array.of(0, 5, 4, 0x6e, 0x6f, 0x74, 0x65);
    const withCustom = new Uint8Array([...bytes, ...custom]);
    assert.deepEqual(inspectWasm(withCustom), inspectWasm(bytes));
  });
});

describe('wasiCommandProblems', () => {
  async function problemsOf(fixture: string): Promise<string[]> {
    return wasiCommandProblems(inspectWasm(await buildWat(fixture)));
  }

  it('finds no problem in a WASI command', async () => {
    assert.deepEqual(await problemsOf('hello'), []);
  });

  it('explains a missing _start', async () => {
    const problems = await problemsOf('no-start');
    assert.equal(problems.length, 1);
    assert.match(problems[0], /does not export a "_start" function/);
  });

  it('explains a missing memory', async () => {
    const problems = await problemsOf('no-memory');
    assert.equal(problems.length, 1);
    assert.match(problems[0], /does not export its memory as "memory"/);
  });

  it('names the imports the agent does not provide', async () => {
    const problems = await problemsOf('unknown-import');
    assert.equal(problems.length, 1);
    assert.match(problems[0], /imports env\.foo, which the agent does not provide/);
  });

  it('reports every problem at once', async () => {
    const problems = wasiCommandProblems(inspectWasm(await watToWasm('(module (import "env" "f" (func)))')));
    assert.equal(problems.length, 3);
  });
});
