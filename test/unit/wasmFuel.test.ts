import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runInProcess } from '../../src/agent/runner/inProcess';
import { prepareJobModule } from '../../src/agent/runner/prepare';
import type { JobOutcome } from '../../src/agent/runner/types';
import { FUEL_EXPORT, fuelRanOut, meterFuel } from '../../src/wasm/fuel';
import { readSections } from '../../src/wasm/sections';
import wabt from 'wabt';
import { watToWasm } from '../helpers/wat';
import { commandInput, pseudoRandomBytes, TOOLCHAIN_FIXTURES, toolchainWasm } from './conformanceJobs';

const FIXTURES = path.join(TOOLCHAIN_FIXTURES, '..');
const PLENTY = 2 ** 31 - 1;

function metered(bytes: Uint8Array, budget = PLENTY): Uint8Array {
  const result = meterFuel(bytes, budget);
  assert.ok(result, 'the module should be metered');
  assert.ok(WebAssembly.validate(result), 'the metered module should validate');
  return result;
}

function instantiate(bytes: Uint8Array, imports: WebAssembly.Imports = {}): WebAssembly.Instance {
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), imports);
}

type Exported = Record<string, (...args: number[]) => number>;
const exported = (instance: WebAssembly.Instance) => instance.exports as unknown as Exported;
const fuelLeft = (instance: WebAssembly.Instance) => (instance.exports[FUEL_EXPORT] as WebAssembly.Global).value;

/** Every .wasm under test/fixtures, recursively. */
function wasmFixtures(dir = FIXTURES): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return wasmFixtures(full);
    return entry.name.endsWith('.wasm') ? [full] : [];
  });
}

/**
 * WAT to bytes without wabt's validation, which ignores the threads and multi-memory features:
 * V8 judges the result instead.
 */
async function watToUnvalidatedWasm(text: string, features: Record<string, boolean>): Promise<Uint8Array> {
  const module = (await wabt()).parseWat('unvalidated.wat', text, features);
  try {
    module.resolveNames();
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

const isComponent = (bytes: Uint8Array) => bytes[6] === 0x01 && bytes[7] === 0x00;

const COMPUTE = `(module
  (func (export "sum") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (loop $next
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (local.set $acc (i32.add (local.get $acc) (local.get $i)))
      (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $acc))
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1))) (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  ;; loops with block parameters: one value type (countdown), a type index (fibPairs)
  (func (export "countdown") (param $n i32) (result i32) (local $steps i32)
    (local.get $n)
    (loop $again (param i32) (result i32)
      (local.set $steps (i32.add (local.get $steps) (i32.const 1)))
      (i32.sub (i32.const 1))
      (local.tee $n)
      (local.get $n)
      (br_if $again))
    (drop)
    (local.get $steps))
  (func (export "fibPairs") (param $n i32) (result i32) (local $a i32) (local $b i32)
    (i32.const 0) (i32.const 1)
    (loop $step (param i32 i32) (result i32 i32)
      (local.set $b) (local.set $a)
      (local.get $b) (i32.add (local.get $a) (local.get $b))
      (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $step))
    (drop))
  (func (export "crash") (result i32) unreachable)
  (func (export "spin") (result i32) (loop $forever (br $forever)) (i32.const 0))
  (func $deeper (export "recurse") (result i32) (call $deeper))
  (func (export "nested") (param $n i32) (result i32) (local $i i32) (local $j i32) (local $count i32)
    (block $done
      (loop $outer
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $j (i32.const 0))
        (loop $inner
          (local.set $count (i32.add (local.get $count) (i32.const 1)))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br_if $inner (i32.lt_u (local.get $j) (local.get $n))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))
    (local.get $count)))`;

describe('meterFuel', () => {
  describe('on the modules of test/fixtures', () => {
    const fixtures = wasmFixtures().filter((file) => !isComponent(fs.readFileSync(file)));

    it('finds the core modules', () => {
      assert.ok(fixtures.length >= 15, fixtures.join(', '));
    });

    it('meters each to a module that validates, or declines', () => {
      for (const file of fixtures) {
        const bytes = fs.readFileSync(file);
        const result = meterFuel(bytes, 1000);
        if (result) assert.ok(WebAssembly.validate(result), path.relative(FIXTURES, file));
      }
    });

    it('meters every toolchain job and WASI program (the realistic cases)', () => {
      const realistic = fixtures.filter((file) => /[/\\](toolchains[/\\][^/\\]+[/\\]job|wasi-programs[/\\][^/\\]+)\.wasm$/.test(file));
      assert.ok(realistic.length >= 11, realistic.join(', '));
      for (const file of realistic) {
        const result = meterFuel(fs.readFileSync(file), 1000);
        assert.ok(result, `${path.relative(FIXTURES, file)} should be metered`);
        assert.ok(WebAssembly.validate(result), `${path.relative(FIXTURES, file)} metered should validate`);
        assert.ok(WebAssembly.Module.exports(new WebAssembly.Module(result)).some((e) => e.name === FUEL_EXPORT && e.kind === 'global'));
      }
    });
  });

  describe('semantics', () => {
    let plain: Exported;
    let meteredBytes: Uint8Array;
    before(async () => {
      const bytes = await watToWasm(COMPUTE);
      plain = exported(instantiate(bytes));
      meteredBytes = metered(bytes);
    });

    it('computes what the module computes unmetered, given enough fuel', () => {
      const instance = instantiate(meteredBytes);
      const run = exported(instance);
      assert.equal(run.sum!(1000), 500500);
      assert.equal(run.fib!(20), 6765);
      assert.equal(run.countdown!(50), 50);
      assert.equal(run.fibPairs!(10), 55);
      assert.equal(run.nested!(30), 900);
      for (const name of ['sum', 'fib', 'countdown', 'fibPairs', 'nested']) assert.equal(run[name]!(12), plain[name]!(12), name);
      assert.equal(fuelRanOut(instance), false);
    });

    it('takes one unit of fuel per function entry and per loop iteration', () => {
      const instance = instantiate(meteredBytes);
      const before = fuelLeft(instance) as number;
      exported(instance).sum!(10); // one entry, ten iterations
      assert.equal(before - (fuelLeft(instance) as number), 11);
    });

    it('traps once the fuel is used up, and says so', async () => {
      const instance = instantiate(metered(await watToWasm(COMPUTE), 50));
      assert.throws(() => exported(instance).sum!(1000), WebAssembly.RuntimeError);
      assert.equal(fuelRanOut(instance), true);
      assert.equal(fuelLeft(instance), 0);

      const again = instantiate(metered(await watToWasm(COMPUTE), 50));
      assert.throws(() => exported(again).fib!(20), WebAssembly.RuntimeError);
      assert.equal(fuelRanOut(again), true);
    });

    it('stops an infinite loop and an infinite recursion', async () => {
      const looping = instantiate(metered(await watToWasm(COMPUTE), 100_000));
      assert.throws(() => exported(looping).spin!(), WebAssembly.RuntimeError);
      assert.equal(fuelRanOut(looping), true);

      // Fewer calls than the stack holds: the fuel, not a stack overflow, stops it.
      const recursing = instantiate(metered(await watToWasm(COMPUTE), 1000));
      assert.throws(() => exported(recursing).recurse!(), WebAssembly.RuntimeError);
      assert.equal(fuelRanOut(recursing), true);
    });

    it('tells a trap of the job from one of the fuel', () => {
      const instance = instantiate(meteredBytes);
      assert.throws(() => exported(instance).crash!(), WebAssembly.RuntimeError);
      assert.equal(fuelRanOut(instance), false);
    });

    it('says no for an instance of a module never metered', () => {
      assert.equal(fuelRanOut(instantiate(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]))), false);
    });

    it('stops a start function that never returns', async () => {
      const bytes = metered(await watToWasm('(module (func $main (loop $l (br $l))) (start $main))'), 10_000);
      assert.throws(() => instantiate(bytes), WebAssembly.RuntimeError);
    });

    it('stops endless tail calls, which never overflow the stack', async () => {
      const bytes = await watToWasm('(module (func $again (export "again") (return_call $again)))', 'tail.wat', { tail_call: true });
      const instance = instantiate(metered(bytes, 100_000));
      assert.throws(() => exported(instance).again!(), WebAssembly.RuntimeError);
      assert.equal(fuelRanOut(instance), true);
    });
  });

  describe('the fuel global and its export', () => {
    it('adds a global and an export section to a module that has neither', async () => {
      const bytes = await watToWasm('(module (memory 1) (data "x") (func $main (data.drop 0) (loop $l)) (start $main))');
      const ids = (b: Uint8Array) => readSections(b).map((section) => section.id);
      assert.deepEqual(ids(bytes), [1, 3, 5, 8, 12, 10, 11]);
      const result = metered(bytes, 7);
      assert.deepEqual(ids(result), [1, 3, 5, 6, 7, 8, 12, 10, 11]);
      const instance = instantiate(result);
      assert.equal(fuelLeft(instance), 5, 'the start function entered once and looped once');
      assert.deepEqual(WebAssembly.Module.exports(new WebAssembly.Module(result)), [{ name: FUEL_EXPORT, kind: 'global' }]);
    });

    it('meters a module without code', async () => {
      const instance = instantiate(metered(await watToWasm('(module)'), 3));
      assert.equal(fuelLeft(instance), 3);
    });

    it('comes after imported and defined globals, shifting no index', async () => {
      const bytes = await watToWasm(`(module
        (import "env" "counter" (global $counter (mut i32)))
        (import "env" "step" (global $step i32))
        (global $own (mut i32) (i32.const 5))
        (func (export "bump") (result i32)
          (global.set $counter (i32.add (global.get $counter) (global.get $step)))
          (global.set $own (i32.add (global.get $own) (i32.const 1)))
          (global.get $own)))`);
      const counter = new WebAssembly.Global({ value: 'i32', mutable: true }, 40);
      const step = new WebAssembly.Global({ value: 'i32' }, 2);
      const instance = instantiate(metered(bytes, 3), { env: { counter, step } });
      const bump = exported(instance).bump!;
      assert.deepEqual([bump(), bump(), bump()], [6, 7, 8]);
      assert.equal(counter.value, 46);
      assert.equal(fuelLeft(instance), 0);
      assert.throws(() => bump(), WebAssembly.RuntimeError);
      assert.equal(counter.value, 46, 'the trap comes before the body');
      assert.equal(fuelRanOut(instance), true);
    });

    it('declines a module that already exports the fuel name, or a budget out of range', async () => {
      assert.equal(meterFuel(await watToWasm(`(module (global (export "${FUEL_EXPORT}") i32 (i32.const 1)))`), 10), undefined);
      const bytes = await watToWasm(COMPUTE);
      for (const budget of [0, -1, 1.5, 2 ** 31, Number.NaN, Number.POSITIVE_INFINITY]) assert.equal(meterFuel(bytes, budget), undefined, String(budget));
      assert.ok(meterFuel(bytes, 1));
    });

    it('writes a budget that needs every byte of its LEB128', async () => {
      for (const budget of [63, 64, 127, 128, 8191, 8192, 2 ** 31 - 1]) {
        assert.equal(fuelLeft(instantiate(metered(await watToWasm('(module)'), budget))), budget);
      }
    });
  });

  describe('proposals', () => {
    /** Metered, the module validates whenever the original does (Node's V8 may not compile every proposal). */
    async function meteredWat(text: string, features: Record<string, boolean> = {}): Promise<Uint8Array> {
      const bytes = await watToWasm(text, 'proposal.wat', features);
      const result = meterFuel(bytes, PLENTY);
      assert.ok(result, 'the module should be metered');
      assert.equal(WebAssembly.validate(result), WebAssembly.validate(bytes));
      return result;
    }

    it('SIMD', async () => {
      const text = `(module (memory 1)
        (func (export "simd") (param $n i32) (result i32) (local $v v128)
          (local.set $v (v128.const i32x4 1 2 3 4))
          (loop $l
            (local.set $v (i32x4.add (local.get $v) (i8x16.shuffle 4 5 6 7 0 1 2 3 12 13 14 15 8 9 10 11 (local.get $v) (local.get $v))))
            (v128.store offset=16 align=4 (i32.const 0) (local.get $v))
            (local.set $v (v128.load32_lane 1 (i32.const 16) (local.get $v)))
            (v128.store32_lane 2 (i32.const 32) (local.get $v))
            (local.set $v (i32x4.replace_lane 3 (local.get $v) (i32.load (i32.const 32))))
            (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
          (drop (v128.load32_zero (i32.const 0)))
          (drop (v128.load8x8_s (i32.const 0)))
          (drop (i8x16.splat (i32.const 7)))
          (i32x4.extract_lane 3 (local.get $v))))`;
      const bytes = await meteredWat(text);
      const expected = exported(instantiate(await watToWasm(text))).simd!(5);
      assert.equal(exported(instantiate(bytes)).simd!(5), expected);
    });

    it('bulk memory', async () => {
      const text = `(module (memory 1) (data $hello "hello") (data $world "world")
        (func (export "bulk") (result i32)
          (memory.init $hello (i32.const 0) (i32.const 0) (i32.const 5))
          (memory.copy (i32.const 10) (i32.const 0) (i32.const 5))
          (memory.fill (i32.const 20) (i32.const 33) (i32.const 4))
          (data.drop $world)
          (i32.add (i32.load8_u (i32.const 14)) (i32.load8_u (i32.const 23)))))`;
      const bytes = await meteredWat(text);
      assert.equal(exported(instantiate(bytes)).bulk!(), 'o'.charCodeAt(0) + 33);
    });

    it('reference types and tables', async () => {
      const text = `(module (table $t 4 funcref) (table $e 2 externref) (elem declare func $one) (elem $seg func $one)
        (func $one (result i32) (i32.const 1))
        (func (export "refs") (param $x externref) (result i32)
          (table.set $t (i32.const 0) (ref.func $one))
          (table.set $e (i32.const 1) (local.get $x))
          (table.init $t $seg (i32.const 1) (i32.const 0) (i32.const 1))
          (elem.drop $seg)
          (table.copy $t $t (i32.const 2) (i32.const 0) (i32.const 2))
          (drop (table.grow $t (ref.null func) (i32.const 1)))
          (table.fill $t (i32.const 4) (ref.null func) (i32.const 1))
          (drop (select (result externref) (local.get $x) (ref.null extern) (i32.const 1)))
          (i32.add
            (i32.add (table.size $t) (ref.is_null (table.get $t (i32.const 4))))
            (call_indirect $t (result i32) (i32.const 3)))))`;
      const bytes = await meteredWat(text, { reference_types: true });
      assert.equal(exported(instantiate(bytes)).refs!({} as never), 5 + 1 + 1);
    });

    it('sign extension and saturating truncation', async () => {
      const bytes = await meteredWat(`(module (func (export "ext") (result i32)
        (i32.add (i32.extend8_s (i32.const 255)) (i32.trunc_sat_f32_s (f32.const 1e20)))))`);
      assert.equal(exported(instantiate(bytes)).ext!(), -1 + 2147483647);
    });

    it('tail calls', async () => {
      const bytes = await meteredWat(
        `(module (type $t (func (param i32) (result i32))) (table 1 funcref) (elem (i32.const 0) $down)
          (func $down (export "down") (param $n i32) (result i32)
            (if (result i32) (i32.eqz (local.get $n)) (then (i32.const 7))
              (else (return_call_indirect (type $t) (i32.sub (local.get $n) (i32.const 1)) (i32.const 0))))))`,
        { tail_call: true },
      );
      assert.equal(exported(instantiate(bytes)).down!(100), 7);
    });

    it('exceptions (legacy: try, catch, catch_all, throw, rethrow, delegate)', async () => {
      const bytes = await meteredWat(
        `(module (tag $oops (param i32))
          (func $thrower (param $n i32) (throw $oops (local.get $n)))
          (func (export "catching") (param $n i32) (result i32)
            (try (result i32)
              (do (try (do (call $thrower (local.get $n))) (delegate 0)) (i32.const 0))
              (catch $oops (i32.add (i32.const 1)))
              (catch_all (i32.const -1))))
          (func (export "rethrowing") (result i32)
            (try (result i32)
              (do (try (do (call $thrower (i32.const 3))) (catch_all (rethrow 0))) (i32.const 0))
              (catch $oops))))`,
        { exceptions: true },
      );
      if (WebAssembly.validate(bytes)) {
        assert.equal(exported(instantiate(bytes)).catching!(41), 42);
        assert.equal(exported(instantiate(bytes)).rethrowing!(), 3);
      }
    });

    it('threads (atomics on a shared memory)', async () => {
      const original = await watToUnvalidatedWasm(
        `(module (memory 1 1 shared)
          (func (export "atomic") (result i32)
            (atomic.fence)
            (i32.atomic.store (i32.const 0) (i32.const 5))
            (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 2)))
            (drop (memory.atomic.notify (i32.const 0) (i32.const 0)))
            (i32.atomic.load (i32.const 0))))`,
        { threads: true },
      );
      assert.ok(WebAssembly.validate(original));
      const bytes = metered(original);
      assert.equal(exported(instantiate(bytes)).atomic!(), 7);
    });

    it('multiple memories (a memory index in memory instructions)', async () => {
      const original = await watToUnvalidatedWasm(
        `(module (memory 1) (memory $m 1)
          (func (export "mm") (result i32)
            (i32.store $m (i32.const 0) (i32.const 9))
            (drop (memory.grow $m (i32.const 1)))
            (memory.copy $m 0 (i32.const 0) (i32.const 8) (i32.const 1))
            (i32.add (memory.size $m) (i32.load $m (i32.const 0)))))`,
        { multi_memory: true, bulk_memory: true },
      );
      const result = meterFuel(original, PLENTY);
      assert.ok(result);
      assert.equal(WebAssembly.validate(result), WebAssembly.validate(original));
      if (WebAssembly.validate(original)) assert.equal(exported(instantiate(result)).mm!(), exported(instantiate(original)).mm!());
    });
  });

  describe('declines what it cannot meter safely, without throwing', () => {
    it('every truncation of a module', async () => {
      const bytes = await watToWasm(COMPUTE);
      const code = readSections(bytes).find((section) => section.id === 10)!;
      for (let length = 0; length < bytes.length; length++) {
        const truncated = bytes.subarray(0, length);
        const result = meterFuel(truncated, 10);
        // A cut between sections may leave a valid module; any cut inside the code section does not.
        if (length > code.start || !WebAssembly.validate(truncated)) assert.equal(result, undefined, `truncated to ${length} bytes`);
        else assert.ok(result && WebAssembly.validate(result), `truncated to ${length} bytes`);
      }
    });

    it('corrupted modules: a metered result always validates when it is given', async () => {
      const bytes = await watToWasm(COMPUTE);
      const noise = pseudoRandomBytes(bytes.length * 4, 7);
      for (let i = 0; i < bytes.length * 4; i++) {
        const corrupt = Uint8Array.from(bytes);
        corrupt[i % bytes.length] = noise[i]!;
        const result = meterFuel(corrupt, 10); // never throws
        if (result && WebAssembly.validate(corrupt)) assert.ok(WebAssembly.validate(result), `byte ${i % bytes.length} = ${noise[i]}`);
      }
    });

    it('not a module: text, a component, nothing', () => {
      assert.equal(meterFuel(new Uint8Array(0), 10), undefined);
      assert.equal(meterFuel(new TextEncoder().encode('(module)'), 10), undefined);
      assert.equal(meterFuel(Uint8Array.from([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]), 10), undefined);
    });

    it('unknown opcodes and prefixes, GC, typed references', () => {
      const body = (...code: number[]) => moduleWithBody(code);
      assert.ok(meterFuel(body(0x01, 0x0b), 10), 'the hand-made module itself is metered');
      for (const [what, code] of [
        ['0xFB (GC)', [0xfb, 0x00, 0x0b]],
        ['0xFC 18', [0xfc, 0x12, 0x0b]],
        ['0xFD past relaxed SIMD', [0xfd, 0x94, 0x02, 0x0b]],
        ['0xFE 4', [0xfe, 0x04, 0x0b]],
        ['0xFF', [0xff, 0x0b]],
        ['call_ref', [0x14, 0x00, 0x0b]],
        ['try_table', [0x1f, 0x40, 0x00, 0x0b, 0x0b]],
        ['throw_ref', [0x0a, 0x0b]],
        ['br_on_null', [0xd5, 0x00, 0x0b]],
        ['ref.null of a GC heap type', [0xd0, 0x6e, 0x1a, 0x0b]],
        ['a GC reference block type', [0x02, 0x64, 0x70, 0x0b, 0x0b]],
        ['a negative block type', [0x02, 0x69, 0x0b, 0x0b]],
        ['select of a GC reference', [0x1c, 0x01, 0x63, 0x70, 0x0b]],
        ['bytes after the end', [0x0b, 0x01]],
        ['an end too many', [0x0b, 0x0b]],
        ['no end', [0x01, 0x01]],
        ['delegate at the body level', [0x18, 0x00, 0x0b]],
      ] as const) {
        assert.equal(meterFuel(body(...code), 10), undefined, what);
      }
      assert.equal(meterFuel(moduleWithBody([0x0b], [0x01, 0x01, 0x63, 0x70]), 10), undefined, 'a GC reference local');
    });

    it('a GC type section or an unknown section', () => {
      const gcType = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 3, 1, 0x5f, 0]); // (type (struct))
      assert.equal(meterFuel(gcType, 10), undefined);
      const unknownSection = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 14, 0]);
      assert.equal(meterFuel(unknownSection, 10), undefined);
      const outOfOrder = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 3, 1, 0, 1, 1, 0]); // function before type
      assert.equal(meterFuel(outOfOrder, 10), undefined);
    });
  });

  describe('real toolchain jobs', () => {
    const FOLDERS = ['c', 'cpp', 'rust', 'rust-crates', 'assemblyscript', 'emscripten'];
    const order = JSON.stringify({ customer: 'Bo', items: [{ name: 'pen', price_cents: 120, quantity: 3 }, { name: 'ink', price_cents: 999, quantity: 1 }] });
    const inputsFor = (folder: string): Uint8Array[] =>
      folder === 'rust-crates'
        ? [order, '{"customer": "Bo", "items": [}', JSON.stringify({ customer: 'X', items: [], panic: true })].map((text) => new TextEncoder().encode(text))
        : [
            commandInput('count', pseudoRandomBytes(50_000)),
            commandInput('cat', pseudoRandomBytes(3000, 3)),
            commandInput('lines 20'),
            commandInput('big 100000'),
            commandInput('stderr'),
            commandInput('exit 3'),
            commandInput('return 4'),
            commandInput('panic'),
            commandInput('env'),
            commandInput('file'),
            commandInput('nonsense'),
          ];

    async function run(bytes: Uint8Array, stdin: Uint8Array): Promise<JobOutcome> {
      const prepared = await prepareJobModule(bytes, 64 * 1024 * 1024);
      assert.ok(prepared.ok, prepared.ok ? '' : prepared.message);
      return runInProcess(prepared.module, stdin);
    }

    const comparable = (outcome: JobOutcome) => ({ ...outcome, durationMs: 0 });

    for (const folder of FOLDERS) {
      it(`${folder}: the metered job behaves as the original`, async () => {
        const original = await toolchainWasm(folder);
        const meteredJob = metered(original);
        for (const stdin of inputsFor(folder)) {
          const expected = comparable(await run(original, stdin));
          assert.deepEqual(comparable(await run(meteredJob, stdin)), expected, new TextDecoder().decode(stdin.subarray(0, 40)));
        }
      });
    }

    it('a job out of fuel traps where the original exits', async () => {
      const stdin = commandInput('count', pseudoRandomBytes(50_000));
      const original = await run(await toolchainWasm('c'), stdin);
      assert.equal(original.kind, 'exited');
      const starved = await run(metered(await toolchainWasm('c'), 1000), stdin);
      assert.equal(starved.kind, 'trapped');
    });
  });
});

/** A module of one function `() -> ()` with the given body code (after its locals) and local declarations. */
function moduleWithBody(code: readonly number[], locals: readonly number[] = [0x00]): Uint8Array {
  const body = [...locals, ...code];
  const section = (id: number, content: number[]) => [id, content.length, ...content];
  return Uint8Array.from([
    0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [1, 0x60, 0, 0]),
    ...section(3, [1, 0]),
    ...section(10, [1, body.length, ...body]),
  ]);
}
