import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { prepareJobModule } from '../../src/agent/runner/prepare';
import { MemorySink, WasiHost, type WasiEnd } from '../../src/agent/runner/wasi';
import { meterFuel } from '../../src/wasm/fuel';
import { makeResettable, RESET_EXPORT } from '../../src/wasm/resettable';
import { readSections } from '../../src/wasm/sections';
import { watToWasm } from '../helpers/wat';
import { commandInput, everyCommandInput, pseudoRandomBytes, TOOLCHAIN_FIXTURES } from './conformanceJobs';
import { exported, instantiate } from '../helpers/instances';

const PLENTY = 2 ** 31 - 1;

function resettable(bytes: Uint8Array): Uint8Array {
  const result = makeResettable(bytes);
  assert.ok(result, 'the module should be made resettable');
  assert.ok(WebAssembly.validate(result), 'the resettable module should validate');
  return result;
}

const sectionIds = (bytes: Uint8Array) => readSections(bytes).map((section) => section.id);

function zero(memory: WebAssembly.Memory): void {
  new Uint8Array(memory.buffer).fill(0);
}

/** What the caller does before every run of a reused instance. */
function zeroAndReset(instance: WebAssembly.Instance, memory: WebAssembly.Memory): void {
  zero(memory);
  exported(instance)[RESET_EXPORT]!();
}

/** Every exported global's value, by name. */
function globalsOf(instance: WebAssembly.Instance): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(instance.exports)) if (value instanceof WebAssembly.Global) values[name] = value.value;
  return values;
}

/** A module whose `run` reads its data, globals and a table, then changes all it can; `memory` declares its memory. */
const jobModule = (memory: string) => `(module
  ${memory}
  (type $unary (func (param i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $double $triple)
  (global $count (export "count") (mut i32) (i32.const 7))
  (global $wide (export "wide") (mut i64) (i64.const -5))
  (global $ratio (export "ratio") (mut f32) (f32.const 1.5))
  (global $precise (export "precise") (mut f64) (f64.const 2.25))
  (global $fixed i32 (i32.const 3))
  (data (i32.const 16) "hello")
  (data (i32.const 100) "\\01\\02\\03\\04")
  (func $double (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func $triple (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
  (func (export "run") (result i32) (local $sum i32) (local $i i32)
    (loop $bytes
      (local.set $sum (i32.add (local.get $sum)
        (i32.mul (i32.load8_u (local.get $i)) (i32.add (local.get $i) (i32.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $bytes (i32.lt_u (local.get $i) (i32.const 256))))
    (local.set $sum (i32.add (local.get $sum) (i32.mul (global.get $count) (i32.const 1000))))
    (local.set $sum (i32.add (local.get $sum) (i32.wrap_i64 (i64.mul (global.get $wide) (i64.const 100000)))))
    (local.set $sum (i32.add (local.get $sum) (i32.trunc_f32_s (f32.mul (global.get $ratio) (f32.const 1000000)))))
    (local.set $sum (i32.add (local.get $sum) (i32.trunc_f64_s (f64.mul (global.get $precise) (f64.const 10000000)))))
    (local.set $sum (i32.add (local.get $sum) (call_indirect (type $unary) (global.get $fixed) (i32.const 1))))
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (global.set $wide (i64.sub (global.get $wide) (i64.const 3)))
    (global.set $ratio (f32.mul (global.get $ratio) (f32.const 2)))
    (global.set $precise (f64.add (global.get $precise) (f64.const 0.5)))
    (i32.store (i32.const 16) (i32.const 0xdeadbeef))
    (i32.store (i32.const 200) (local.get $sum))
    (memory.fill (i32.const 100) (i32.const 9) (i32.const 20))
    (local.get $sum)))`;

const IMPORTED_MEMORY = '(import "env" "memory" (memory 1))';
const EXPORTED_MEMORY = '(memory (export "memory") 1)';

describe('makeResettable', () => {
  describe('one instance, job after job', () => {
    it('with an imported memory: every run answers as the first, and as a fresh instance of the original', async () => {
      const original = await watToWasm(jobModule(IMPORTED_MEMORY));
      const fresh = exported(instantiate(original, { env: { memory: new WebAssembly.Memory({ initial: 1 }) } })).run!();
      const memory = new WebAssembly.Memory({ initial: 1 });
      const instance = instantiate(resettable(original), { env: { memory } });
      const answers = Array.from({ length: 5 }, () => {
        zeroAndReset(instance, memory);
        return exported(instance).run!();
      });
      assert.deepEqual(answers, Array(5).fill(fresh));
    });

    it('with a memory of its own, exported', async () => {
      const original = await watToWasm(jobModule(EXPORTED_MEMORY));
      const fresh = exported(instantiate(original)).run!();
      const instance = instantiate(resettable(original));
      const memory = instance.exports.memory as WebAssembly.Memory;
      for (let run = 0; run < 5; run++) {
        zeroAndReset(instance, memory);
        assert.equal(exported(instance).run!(), fresh, `run ${run}`);
      }
    });

    it('without a reset, the second run differs (the test can tell)', async () => {
      const instance = instantiate(resettable(await watToWasm(jobModule(EXPORTED_MEMORY))));
      const memory = instance.exports.memory as WebAssembly.Memory;
      zeroAndReset(instance, memory);
      const first = exported(instance).run!();
      assert.notEqual(exported(instance).run!(), first);
      zero(memory);
      assert.notEqual(exported(instance).run!(), first, 'zeroing alone is not enough: the globals stay');
    });

    it('after instantiation the memory holds no data, until the reset', async () => {
      const instance = instantiate(resettable(await watToWasm(jobModule(EXPORTED_MEMORY))));
      const memory = instance.exports.memory as WebAssembly.Memory;
      assert.ok(new Uint8Array(memory.buffer).every((byte) => byte === 0));
      exported(instance)[RESET_EXPORT]!();
      assert.equal(new TextDecoder().decode(new Uint8Array(memory.buffer, 16, 5)), 'hello');
    });

    it('leaves no trace of a secret: memory and globals as in a fresh instance', async () => {
      const text = `(module (memory (export "memory") 1)
        (global $a (export "a") (mut i32) (i32.const 1))
        (global $b (export "b") (mut i64) (i64.const 2))
        (global $c (export "c") (mut f32) (f32.const 3))
        (global $d (export "d") (mut f64) (f64.const 4))
        (data (i32.const 8) "public")
        (func (export "keepSecret") (param $secret i32) (local $i i32)
          (loop $fill
            (i32.store (local.get $i) (local.get $secret))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br_if $fill (i32.lt_u (local.get $i) (i32.const 65536))))
          (global.set $a (local.get $secret))
          (global.set $b (i64.extend_i32_u (local.get $secret)))
          (global.set $c (f32.convert_i32_u (local.get $secret)))
          (global.set $d (f64.convert_i32_u (local.get $secret)))))`;
      const original = await watToWasm(text);
      const pristine = instantiate(original);
      const instance = instantiate(resettable(original));
      const memory = instance.exports.memory as WebAssembly.Memory;
      zeroAndReset(instance, memory);
      exported(instance).keepSecret!(0x5ec2e7);
      assert.equal(globalsOf(instance).a, 0x5ec2e7);
      zeroAndReset(instance, memory);
      assert.deepEqual(new Uint8Array(memory.buffer), new Uint8Array((pristine.exports.memory as WebAssembly.Memory).buffer));
      assert.deepEqual(globalsOf(instance), globalsOf(pristine));
    });

    it('applies overlapping segments in order: the later wins, as at instantiation', async () => {
      const original = await watToWasm(`(module (memory (export "memory") 1)
        (data (i32.const 0) "aaaaaaaa") (data (i32.const 2) "bb") (data (i32.const 6) "cccc") (data (i32.const 3) "d"))`);
      const instance = instantiate(resettable(original));
      const memory = instance.exports.memory as WebAssembly.Memory;
      zeroAndReset(instance, memory);
      const text = (m: WebAssembly.Memory) => new TextDecoder().decode(new Uint8Array(m.buffer, 0, 10));
      assert.equal(text(memory), text(instantiate(original).exports.memory as WebAssembly.Memory));
      assert.equal(text(memory), 'aabdaacccc');
    });

    it('a segment out of bounds traps in the reset (instantiation would have failed)', async () => {
      const original = await watToWasm('(module (memory (export "memory") 1) (data (i32.const 65534) "xyz"))');
      assert.throws(() => instantiate(original));
      const instance = instantiate(resettable(original));
      assert.throws(() => exported(instance)[RESET_EXPORT]!(), WebAssembly.RuntimeError);
    });
  });

  describe('the sections it writes', () => {
    it('keeps a data count section the module already has', async () => {
      const original = withDataCountSection(await watToWasm(jobModule(EXPORTED_MEMORY)));
      assert.ok(WebAssembly.validate(original));
      const result = resettable(original);
      assert.equal(sectionIds(result).filter((id) => id === 12).length, 1);
      const instance = instantiate(result);
      zeroAndReset(instance, instance.exports.memory as WebAssembly.Memory);
      assert.equal(exported(instance).run!(), exported(instantiate(original)).run!());
    });

    it('inserts a data count section before the code section', async () => {
      const original = await watToWasm(jobModule(EXPORTED_MEMORY));
      assert.ok(!sectionIds(original).includes(12));
      const ids = sectionIds(resettable(original));
      assert.equal(ids.indexOf(12), ids.indexOf(10) - 1);
    });

    it('a module without data: only its globals are reset', async () => {
      const original = await watToWasm(`(module (memory (export "m") 1) (global $g (export "g") (mut i64) (i64.const 42))
        (func (export "bump") (global.set $g (i64.add (global.get $g) (i64.const 1)))))`);
      const result = resettable(original);
      assert.ok(!sectionIds(result).includes(12), 'no data count section is needed');
      const instance = instantiate(result);
      exported(instance).bump!();
      assert.equal(globalsOf(instance).g, 43n);
      exported(instance)[RESET_EXPORT]!();
      assert.equal(globalsOf(instance).g, 42n);
    });

    it('a module without globals: only its data is re-applied', async () => {
      const original = await watToWasm('(module (memory (export "memory") 1) (data (i32.const 5) "data") (func (export "f")))');
      const instance = instantiate(resettable(original));
      const memory = instance.exports.memory as WebAssembly.Memory;
      zeroAndReset(instance, memory);
      assert.equal(new TextDecoder().decode(new Uint8Array(memory.buffer, 5, 4)), 'data');
    });

    it('a module of nothing but a memory and data: type, function, export, data count and code sections created in order', async () => {
      const original = await watToWasm('(module (memory (export "memory") 1) (data (i32.const 0) "hi"))');
      assert.deepEqual(sectionIds(original), [5, 7, 11]);
      const result = resettable(original);
      assert.deepEqual(sectionIds(result), [1, 3, 5, 7, 12, 10, 11]);
      const instance = instantiate(result);
      zeroAndReset(instance, instance.exports.memory as WebAssembly.Memory);
      assert.equal(new TextDecoder().decode(new Uint8Array((instance.exports.memory as WebAssembly.Memory).buffer, 0, 2)), 'hi');
    });

    it('an imported memory and nothing else', async () => {
      const result = resettable(await watToWasm('(module (import "env" "memory" (memory 1)))'));
      const memory = new WebAssembly.Memory({ initial: 1 });
      zeroAndReset(instantiate(result, { env: { memory } }), memory);
    });

    it('shifts no index: imported functions and globals come first', async () => {
      const original = await watToWasm(`(module
        (import "env" "tick" (func $tick))
        (import "env" "base" (global $base i32))
        (import "env" "memory" (memory 1))
        (global $g (export "g") (mut i32) (i32.const 9))
        (data (i32.const 0) "x")
        (func (export "f") (result i32) (call $tick) (global.set $g (global.get $base)) (i32.load8_u (i32.const 0))))`);
      const memory = new WebAssembly.Memory({ initial: 1 });
      const base = new WebAssembly.Global({ value: 'i32' }, 77);
      const instance = instantiate(resettable(original), { env: { tick: () => {}, base, memory } });
      zeroAndReset(instance, memory);
      assert.equal(exported(instance).f!(), 'x'.charCodeAt(0));
      assert.equal(globalsOf(instance).g, 77);
      zeroAndReset(instance, memory);
      assert.equal(globalsOf(instance).g, 9);
    });

    it('resets the fuel global of a metered module too', async () => {
      const original = await watToWasm('(module (memory (export "m") 1) (func (export "spin") (param $n i32) (loop $l (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))');
      const instance = instantiate(resettable(meterFuel(original, 100)!));
      exported(instance).spin!(60);
      assert.throws(() => exported(instance).spin!(60), WebAssembly.RuntimeError, 'out of fuel');
      exported(instance)[RESET_EXPORT]!();
      exported(instance).spin!(60);
    });
  });

  describe('declines what a reset could not restore, without throwing', () => {
    const declines = async (what: string, text: string, features: Record<string, boolean> = {}) => {
      const bytes = await watToWasm(text, 'decline.wat', features);
      assert.equal(makeResettable(bytes), undefined, what);
    };

    it('code that changes a table', async () => {
      const tables = '(table $t 2 funcref) (elem $seg func $f) (memory (export "m") 1) (func $f)';
      const features = { reference_types: true };
      await declines('table.set', `(module ${tables} (func (table.set $t (i32.const 0) (ref.func $f))))`, features);
      await declines('table.grow', `(module ${tables} (func (drop (table.grow $t (ref.null func) (i32.const 1)))))`, features);
      await declines('table.fill', `(module ${tables} (func (table.fill $t (i32.const 0) (ref.null func) (i32.const 1))))`, features);
      await declines('table.copy', `(module ${tables} (func (table.copy $t $t (i32.const 0) (i32.const 1) (i32.const 1))))`, features);
      await declines('table.init', `(module ${tables} (func (table.init $t $seg (i32.const 0) (i32.const 0) (i32.const 1))))`, features);
      await declines('elem.drop', `(module ${tables} (func (elem.drop $seg)))`, features);
      assert.ok(makeResettable(await watToWasm(`(module ${tables} (func (drop (table.get $t (i32.const 0)))))`, 'ok.wat', features)), 'table.get is fine');
    });

    it('passive data, memory.init, data.drop', async () => {
      await declines('memory.init', '(module (memory (export "m") 1) (data $p "x") (func (memory.init $p (i32.const 0) (i32.const 0) (i32.const 1))))');
      await declines('data.drop', '(module (memory (export "m") 1) (data $p "x") (func (data.drop $p)))');
      await declines('an unused passive segment', '(module (memory (export "m") 1) (data $p "x"))');
    });

    it('a start section', async () => {
      await declines('start', '(module (memory (export "m") 1) (func $main) (start $main))');
    });

    it('a mutable global not initialised by a single numeric constant', async () => {
      await declines('global.get', '(module (import "env" "g" (global i32)) (memory (export "m") 1) (global (mut i32) (global.get 0)))');
      await declines('v128', '(module (memory (export "m") 1) (global (mut v128) (v128.const i32x4 1 2 3 4)))');
      await declines('funcref', '(module (memory (export "m") 1) (global (mut funcref) (ref.null func)))', { reference_types: true });
      assert.ok(makeResettable(await watToWasm('(module (import "env" "g" (global i32)) (memory (export "m") 1) (global i32 (global.get 0)))')), 'an immutable one is fine');
    });

    it('data at an offset that is not an i32.const', async () => {
      await declines('global.get offset', '(module (import "env" "base" (global i32)) (memory (export "m") 1) (data (global.get 0) "x"))');
    });

    it('two memories, or data for a memory other than the first', () => {
      // (memory 1) (memory 1) (export "m" (memory 0)) (data (memory 1) (i32.const 0) "x"), by hand: wabt would not write it without multi-memory
      const header = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0];
      const exportM = [7, 5, 1, 1, 0x6d, 2, 0];
      const data = (memory: number) => [11, 8, 1, 2, memory, 0x41, 0, 0x0b, 1, 0x78];
      assert.equal(makeResettable(Uint8Array.from([...header, 5, 5, 2, 0, 1, 0, 1, ...exportM, ...data(1)])), undefined, 'data for memory 1');
      assert.equal(makeResettable(Uint8Array.from([...header, 5, 5, 2, 0, 1, 0, 1, ...exportM, ...data(0)])), undefined, 'a second memory');
      assert.equal(makeResettable(Uint8Array.from([...header, 5, 3, 1, 0, 1, ...exportM, ...data(1)])), undefined, 'data for a memory that is not');
      assert.ok(makeResettable(Uint8Array.from([...header, 5, 3, 1, 0, 1, ...exportM, ...data(0)])), 'flags 2, memory 0: fine');
    });

    it('a memory of its own that the caller cannot reach to zero', async () => {
      await declines('not exported', '(module (memory 1) (data (i32.const 0) "x"))');
      assert.ok(makeResettable(await watToWasm('(module (memory (export "m") 1) (data (i32.const 0) "x"))')));
    });

    it('no memory, or an export of the reset name already', async () => {
      await declines('no memory', '(module (global (mut i32) (i32.const 1)) (func))');
      await declines('the export exists', `(module (memory (export "m") 1) (func (export "${RESET_EXPORT}")))`);
    });

    it('every truncation of a module', async () => {
      const bytes = await watToWasm(jobModule(EXPORTED_MEMORY));
      for (let length = 0; length < bytes.length; length++) {
        const truncated = bytes.subarray(0, length);
        const result = makeResettable(truncated); // never throws
        if (result) assert.ok(WebAssembly.validate(result) || !WebAssembly.validate(truncated), `truncated to ${length} bytes`);
      }
    });

    it('corrupted modules: a result always validates when the original did', async () => {
      const bytes = await watToWasm(jobModule(IMPORTED_MEMORY));
      const noise = pseudoRandomBytes(bytes.length * 4, 11);
      for (let i = 0; i < bytes.length * 4; i++) {
        const corrupt = Uint8Array.from(bytes);
        corrupt[i % bytes.length] = noise[i]!;
        const result = makeResettable(corrupt); // never throws
        if (result && WebAssembly.validate(corrupt)) assert.ok(WebAssembly.validate(result), `byte ${i % bytes.length} = ${noise[i]}`);
      }
    });

    it('not a module: text, a component, nothing', () => {
      assert.equal(makeResettable(new Uint8Array(0)), undefined);
      assert.equal(makeResettable(new TextEncoder().encode('(module)')), undefined);
      assert.equal(makeResettable(Uint8Array.from([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0])), undefined);
    });
  });

  describe('real programs through the WASI host, on one instance', () => {
    const FIXTURES = path.join(TOOLCHAIN_FIXTURES, '..');
    const order = JSON.stringify({ customer: 'Bo', items: [{ name: 'pen', price_cents: 120, quantity: 3 }] });
    const text = (...inputs: string[]) => inputs.map((input) => new TextEncoder().encode(input));
    const commands = [...everyCommandInput(), commandInput('count', pseudoRandomBytes(10, 5))];
    /** Every one is resettable; its inputs are run on one instance, in this order, twice over. */
    const PROGRAMS: Record<string, Uint8Array[]> = {
      'toolchains/c/job.wasm': commands,
      'toolchains/cpp/job.wasm': commands,
      'toolchains/rust/job.wasm': commands,
      'toolchains/rust-crates/job.wasm': text(order, '{"customer": "Bo", "items": [}', JSON.stringify({ customer: 'X', items: [], panic: true }), order),
      'toolchains/assemblyscript/job.wasm': commands,
      'toolchains/emscripten/job.wasm': commands,
      'wasi-programs/words.wasm': text('one two three', 'exit', 'panic', '', 'a b c d e f'),
      'wasi-programs/suite-case.wasm': text('x', '', 'hello'),
      'wasi-programs/files.wasm': text('', 'x'),
      'wasi-programs/wasi-fs.wasm': text('', 'x'),
      'wasi-programs/probe.wasm': text('hello', 'exit', 'abort', 'again'), // it says "yes" of clocks, sleeps and randomness, no values
    };

    const stdout = new MemorySink();
    const stderr = new MemorySink();
    const host = new WasiHost(stdout, stderr);
    const runOf = (end: WasiEnd) => ({ end, stdout: Buffer.from(stdout.take()).toString('latin1'), stderr: Buffer.from(stderr.take()).toString('latin1') });

    it('covers every toolchain job and WASI program', () => {
      const found = [
        ...fs.readdirSync(TOOLCHAIN_FIXTURES).filter((folder) => fs.existsSync(path.join(TOOLCHAIN_FIXTURES, folder, 'job.wasm'))).map((folder) => `toolchains/${folder}/job.wasm`),
        ...fs.readdirSync(path.join(FIXTURES, 'wasi-programs')).filter((file) => file.endsWith('.wasm')).map((file) => `wasi-programs/${file}`),
      ];
      assert.deepEqual(found.sort(), Object.keys(PROGRAMS).sort());
    });

    for (const [program, inputs] of Object.entries(PROGRAMS)) {
      it(`${program}: the agent's metered bytes are resettable, and runs on one instance answer as fresh ones`, async () => {
        const prepared = await prepareJobModule(fs.readFileSync(path.join(FIXTURES, program)), 64 * 1024 * 1024);
        assert.ok(prepared.ok && prepared.meterable && prepared.memory, program);
        const bytes = resettable(meterFuel(prepared.meterable, PLENTY)!);
        const shape = prepared.memory;
        const fresh = inputs.map((stdin) => runOf(host.run(prepared.module, stdin, undefined, new WebAssembly.Memory(shape))));

        // One instance for every run, even after a job grew its memory (the agent would drop that
        // memory, jobMemory.ts: here it stays, zeroed whole, the harder case for the reset).
        const module = new WebAssembly.Module(bytes);
        const memory = new WebAssembly.Memory(shape);
        const instance = host.instantiate(module, memory);
        for (const round of [1, 2]) {
          inputs.forEach((stdin, i) => {
            zeroAndReset(instance, memory);
            assert.deepEqual(runOf(host.run(module, stdin, instance, memory)), fresh[i], `round ${round}, input ${i}`);
          });
        }
      });
    }

    /** How a second `_start` on the same instance goes wrong without zero and reset. */
    const SECOND_START_WITHOUT_RESET: Record<string, string> = {
      'toolchains/c/job.wasm': 'answers otherwise', // wasi-libc's constructors and stdio state run again on what is left
      'toolchains/cpp/job.wasm': 'traps',
      'toolchains/rust/job.wasm': 'traps', // Rust std: "assertion failed: thread_info.is_none()"
      'wasi-programs/words.wasm': 'traps',
    };
    for (const [program, failure] of Object.entries(SECOND_START_WITHOUT_RESET)) {
      it(`${program}: a second _start on one instance ${failure} without zero and reset, and is right with them`, async () => {
        const prepared = await prepareJobModule(fs.readFileSync(path.join(FIXTURES, program)), 64 * 1024 * 1024);
        assert.ok(prepared.ok && prepared.meterable && prepared.memory);
        const module = new WebAssembly.Module(resettable(meterFuel(prepared.meterable, PLENTY)!));
        const memory = new WebAssembly.Memory(prepared.memory);
        const instance = host.instantiate(module, memory);
        const stdin = program.startsWith('toolchains') ? commandInput('lines 3') : new TextEncoder().encode('a b c');
        zeroAndReset(instance, memory);
        const first = runOf(host.run(module, stdin, instance, memory));
        assert.equal(first.end.kind, 'exited');
        const again = runOf(host.run(module, stdin, instance, memory));
        if (failure === 'traps') assert.equal(again.end.kind, 'trapped');
        else assert.notDeepEqual(again, first);
        zeroAndReset(instance, memory);
        assert.deepEqual(runOf(host.run(module, stdin, instance, memory)), first);
      });
    }
  });
});

/** The module with a data count section (its number of data segments) before its code section. */
function withDataCountSection(bytes: Uint8Array): Uint8Array {
  const sections = readSections(bytes);
  const data = sections.find((section) => section.id === 11)!;
  const segments = bytes[data.contentStart]!; // fewer than 128 here
  const before = sections.find((section) => section.id === 10) ?? data;
  return Uint8Array.from([...bytes.subarray(0, before.start), 12, 1, segments, ...bytes.subarray(before.start)]);
}
