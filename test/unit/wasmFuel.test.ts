import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runInProcess } from '../../src/agent/runner/inProcess';
import { prepareJobModule } from '../../src/agent/runner/prepare';
import type { JobOutcome } from '../../src/agent/runner/types';
import { FUEL_EXPORT, fuelRanOut, meterFuel } from '../../src/wasm/fuel';
import { encodeUleb } from '../../src/wasm/memoryCap';
import { ByteReader } from '../../src/wasm/reader';
import { readSections } from '../../src/wasm/sections';
import wabt from 'wabt';
import { watToWasm } from '../helpers/wat';
import { commandInput, everyCommandInput, pseudoRandomBytes, TOOLCHAIN_FIXTURES, toolchainWasm } from './conformanceJobs';
import { type Exported, exported, instantiate } from '../helpers/instances';

const FIXTURES = path.join(TOOLCHAIN_FIXTURES, '..');
const PLENTY = 2 ** 31 - 1;

function metered(bytes: Uint8Array, budget = PLENTY): Uint8Array {
  const result = meterFuel(bytes, budget);
  assert.ok(result, 'the module should be metered');
  assert.ok(WebAssembly.validate(result), 'the metered module should validate');
  return result;
}

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

  describe('bulk instructions: charged by their length, before they run', () => {
    const SEGMENT = 'The quick brown fox jumps over the lazy dog, twice: 0123456789!!';
    const MEMORY_OPS = `(module (memory (export "mem") 1) (data $seg "${SEGMENT}")
      (func (export "fill") (param $at i32) (param $len i32) (memory.fill (local.get $at) (i32.const 7) (local.get $len)))
      (func (export "copy") (param $to i32) (param $from i32) (param $len i32) (memory.copy (local.get $to) (local.get $from) (local.get $len)))
      (func (export "init") (param $at i32) (param $from i32) (param $len i32)
        (memory.init $seg (local.get $at) (local.get $from) (local.get $len))))`;
    const memoryOf = (instance: WebAssembly.Instance) => new Uint8Array((instance.exports.mem as WebAssembly.Memory).buffer);

    it('memory.fill, memory.copy, memory.init: the same memory as unmetered, one unit per 32 bytes', async () => {
      assert.equal(SEGMENT.length, 64);
      const bytes = await watToWasm(MEMORY_OPS);
      const plain = instantiate(bytes);
      const instance = instantiate(metered(bytes));
      for (const [name, args, cost] of [
        ['fill', [100, 100], 3],
        ['init', [500, 0, 64], 2],
        ['copy', [300, 90, 64], 2],
        ['copy', [1000, 500, 33], 1],
        ['fill', [0, 31], 0],
        ['init', [700, 10, 54], 1],
        ['fill', [2000, 32 * 1000], 1000],
        ['copy', [40_000, 2000, 0], 0],
      ] as const) {
        exported(plain)[name]!(...args);
        const before = fuelLeft(instance) as number;
        exported(instance)[name]!(...args);
        assert.equal(before - (fuelLeft(instance) as number), 1 + cost, `${name}(${args.join(', ')}): the entry and the length`);
      }
      assert.deepEqual(memoryOf(instance), memoryOf(plain));
      assert.equal(String.fromCharCode(...memoryOf(instance).subarray(500, 564)), SEGMENT);
      assert.equal(fuelRanOut(instance), false);
    });

    it('table.fill, table.copy, table.init: the same table as unmetered, one unit per 32 elements', async () => {
      const elements = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? '$one' : '$two')).join(' ');
      const bytes = await watToWasm(
        `(module (table $t 100 funcref) (elem $seg func ${elements}) (elem declare func $one)
          (func $one (result i32) (i32.const 1))
          (func $two (result i32) (i32.const 2))
          (func (export "fill") (param $at i32) (param $len i32) (table.fill $t (local.get $at) (ref.func $one) (local.get $len)))
          (func (export "copy") (param $to i32) (param $from i32) (param $len i32) (table.copy $t $t (local.get $to) (local.get $from) (local.get $len)))
          (func (export "init") (param $at i32) (param $from i32) (param $len i32)
            (table.init $t $seg (local.get $at) (local.get $from) (local.get $len)))
          (func (export "at") (param $i i32) (result i32)
            (if (result i32) (ref.is_null (table.get $t (local.get $i)))
              (then (i32.const 0))
              (else (call_indirect $t (result i32) (local.get $i))))))`,
        'tables.wat',
        { reference_types: true },
      );
      const plain = instantiate(bytes);
      const instance = instantiate(metered(bytes));
      for (const [name, args, cost] of [
        ['init', [50, 0, 40], 1],
        ['fill', [0, 33], 1],
        ['copy', [5, 45, 40], 1],
        ['fill', [95, 5], 0],
        ['init', [60, 8, 32], 1],
        ['copy', [0, 99, 1], 0],
      ] as const) {
        exported(plain)[name]!(...args);
        const before = fuelLeft(instance) as number;
        exported(instance)[name]!(...args);
        assert.equal(before - (fuelLeft(instance) as number), 1 + cost, `${name}(${args.join(', ')})`);
      }
      const table = (of: WebAssembly.Instance) => Array.from({ length: 100 }, (_, i) => exported(of).at!(i));
      assert.deepEqual(table(instance), table(plain));
      assert.ok(table(plain).includes(2) && table(plain).includes(0), 'the checks saw every kind of entry');
    });

    const BIG_FILL = `(module (memory (export "mem") 1)
      (func (export "big") (param $len i32) (result i32)
        (drop (memory.grow (i32.const 1024)))
        (memory.fill (i32.const 65536) (i32.const 70) (local.get $len))
        (i32.const 1)))`;

    it('traps before a fill of 64 MiB on the budget of the agent, leaving the memory as it was', async () => {
      const instance = instantiate(metered(await watToWasm(BIG_FILL), 1_000_000));
      assert.throws(() => exported(instance).big!(64 * 1024 * 1024), WebAssembly.RuntimeError);
      assert.equal(fuelRanOut(instance), true);
      assert.equal(fuelLeft(instance), 0);
      const memory = memoryOf(instance);
      assert.equal(memory.length, 1025 * 65536, 'the grow before it ran');
      for (const at of [65536, 65537, 1_000_000, memory.length - 1]) assert.equal(memory[at], 0, `byte ${at} was not filled`);
    });

    it('may use the fuel to exactly 0, and traps one unit later', async () => {
      const bytes = await watToWasm(BIG_FILL);
      const exact = instantiate(metered(bytes, 11)); // the entry, then 10 units: 320 bytes
      assert.equal(exported(exact).big!(320), 1);
      assert.equal(fuelLeft(exact), 0);
      assert.equal(memoryOf(exact)[65536 + 319], 70);

      const over = instantiate(metered(bytes, 11));
      assert.throws(() => exported(over).big!(352), WebAssembly.RuntimeError);
      assert.equal(fuelRanOut(over), true);
      assert.equal(memoryOf(over)[65536], 0, 'not filled');
    });

    it('reads the length as unsigned: a "negative" one is charged as huge, and with fuel to spare traps as the job would', async () => {
      const bytes = await watToWasm(BIG_FILL);
      const starved = instantiate(metered(bytes, 1_000_000));
      assert.throws(() => exported(starved).big!(-1), WebAssembly.RuntimeError);
      assert.equal(fuelRanOut(starved), true);

      const rich = instantiate(metered(bytes)); // 2^27 units are less than the fuel: the fill itself is out of bounds
      assert.throws(() => exported(rich).big!(-1), WebAssembly.RuntimeError);
      assert.throws(() => exported(instantiate(bytes)).big!(-1), WebAssembly.RuntimeError);
      assert.equal(fuelRanOut(rich), false, 'the trap is the job\'s');
    });

    describe('the scratch local', () => {
      const LOCALS = `(module (memory 1)
        (func (export "mixed") (param $a i32) (param $b i64) (param $c f64) (result f64)
          (local $d f32) (local $e i64) (local $f i64) (local $g v128) (local $h i32)
          (local.set $d (f32.const 1.5))
          (local.set $e (i64.add (local.get $b) (i64.const 10)))
          (local.set $f (i64.const 100))
          (local.set $g (i32x4.splat (local.get $a)))
          (local.set $h (i32.const 96))
          (memory.fill (local.get $a) (i32.const 3) (local.get $h))
          (memory.copy (i32.add (local.get $a) (i32.const 200)) (local.get $a) (i32.const 64))
          (f64.add (f64.add (local.get $c)
            (f64.convert_i64_s (i64.add (i64.add (local.get $e) (local.get $f))
              (i64.extend_i32_u (i32.add (i32x4.extract_lane 2 (local.get $g))
                (i32.add (i32.load8_u (i32.add (local.get $a) (i32.const 263))) (local.get $h)))))))
            (f64.promote_f32 (local.get $d))))
        (func (export "none") (param $at i32) (memory.fill (local.get $at) (i32.const 1) (i32.const 64)))
        (func (export "nothing") (memory.copy (i32.const 0) (i32.const 64) (i32.const 64)))
        (func (export "untouched") (param $x i32) (result i32) (local $y i64) (local.get $x))
        (func (export "loopFill") (param $n i32)
          (i32.const 0) (i32.const 9) (i32.const 64)
          (loop $l (param i32 i32 i32) (result i32 i32 i32)
            (memory.fill)
            (i32.const 0) (i32.const 9) (i32.const 64)
            (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
          (drop) (drop) (drop)))`;

      /** The local declarations of each function body, as [count, type] pairs. */
      function localDeclarations(bytes: Uint8Array): number[][][] {
        const code = readSections(bytes).find((section) => section.id === 10)!;
        const reader = new ByteReader(bytes, code.contentStart, code.end);
        return Array.from({ length: reader.uleb('bodies') }, () => {
          const size = reader.uleb('size');
          const end = reader.offset + size;
          const groups = Array.from({ length: reader.uleb('groups') }, () => [reader.uleb('count'), reader.byte('type')]);
          reader.offset = end;
          return groups;
        });
      }

      it('comes after the parameters and every local of a function, which keep working', async () => {
        const bytes = await watToWasm(LOCALS, 'locals.wat');
        const plain = exported(instantiate(bytes));
        const run = exported(instantiate(metered(bytes)));
        assert.equal(run.mixed!(1000, 5n as never, 0.25), plain.mixed!(1000, 5n as never, 0.25));
        assert.equal(run.mixed!(40, -7n as never, 2.5), plain.mixed!(40, -7n as never, 2.5));
        assert.equal(run.untouched!(9), 9);
      });

      it('is one i32 declared last, only in functions with bulk instructions, even with two of them', async () => {
        const bytes = await watToWasm(LOCALS, 'locals.wat');
        const before = localDeclarations(bytes);
        const after = localDeclarations(metered(bytes));
        const i32 = 0x7f;
        assert.deepEqual(after[0], [...before[0]!, [1, i32]], 'mixed: one more, after the others (two bulk instructions)');
        assert.equal(before[0]!.reduce((sum, [count]) => sum + count!, 0), 5);
        assert.deepEqual(before[1], []);
        assert.deepEqual(after[1], [[1, i32]], 'none: its first local declaration');
        assert.deepEqual(after[2], [[1, i32]], 'nothing: no params, so local 0');
        assert.deepEqual(after[3], before[3], 'untouched');
        assert.deepEqual(after[4], [[1, i32]], 'loopFill');
      });

      it('a loop whose first instruction is a bulk one: both are checked', async () => {
        const bytes = await watToWasm(LOCALS, 'locals.wat');
        const instance = instantiate(metered(bytes));
        const before = fuelLeft(instance) as number;
        exported(instance).loopFill!(5);
        assert.equal(before - (fuelLeft(instance) as number), 1 + 5 * (1 + 2));
      });

      it('declines a function that has no room for it', async () => {
        const declarations = (count: number) => [0x01, ...encodeUleb(count), 0x7f];
        assert.ok(meterFuel(moduleWithBody([0x0b], declarations(49_999)), 10), 'no bulk instruction, no scratch local');
        const fill = [0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0b, 0x00, 0x0b];
        const withMemory = (locals: number[]) => withMemorySection(moduleWithBody(fill, locals));
        const room = meterFuel(withMemory(declarations(49_999)), 10);
        assert.ok(room && WebAssembly.validate(room), '49,999 locals and the scratch one');
        assert.equal(meterFuel(withMemory(declarations(50_000)), 10), undefined);
        assert.equal(meterFuel(withMemory([0x02, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f, 0x01, 0x7e]), 10), undefined, 'more locals than a u32');
      });

      it('rewrites a count of declarations in more bytes than it needs', async () => {
        const fill = [0x41, 0x00, 0x41, 0x05, 0x41, 0xe0, 0x00, 0xfc, 0x0b, 0x00, 0x0b]; // 96 bytes of 5 at 0
        const bytes = withMemorySection(moduleWithBody(fill, [0x81, 0x80, 0x00, 0x02, 0x7e])); // one group, its count in 3 bytes
        assert.ok(WebAssembly.validate(bytes));
        const result = metered(bytes);
        assert.deepEqual(localDeclarations(result)[0], [[2, 0x7e], [1, 0x7f]]);
      });
    });

    describe('declines 64-bit memories and tables (their lengths are i64)', () => {
      const header = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0];
      it('defined or imported', () => {
        assert.ok(meterFuel(Uint8Array.from([...header, 5, 3, 1, 0x00, 1]), 10), 'a 32-bit memory');
        assert.ok(meterFuel(Uint8Array.from([...header, 5, 4, 1, 0x03, 1, 1]), 10), 'a shared 32-bit memory');
        assert.equal(meterFuel(Uint8Array.from([...header, 5, 3, 1, 0x04, 1]), 10), undefined, 'memory64');
        assert.equal(meterFuel(Uint8Array.from([...header, 5, 4, 1, 0x05, 1, 2]), 10), undefined, 'memory64 with a maximum');
        assert.ok(meterFuel(Uint8Array.from([...header, 4, 4, 1, 0x70, 0x00, 1]), 10), 'a 32-bit table');
        assert.equal(meterFuel(Uint8Array.from([...header, 4, 4, 1, 0x70, 0x04, 1]), 10), undefined, 'table64');
        const imported = (kind: number[]) => Uint8Array.from([...header, 2, 5 + kind.length, 1, 1, 0x65, 1, 0x6d, ...kind]);
        assert.ok(meterFuel(imported([0x02, 0x00, 1]), 10), 'an imported 32-bit memory');
        assert.equal(meterFuel(imported([0x02, 0x04, 1]), 10), undefined, 'an imported memory64');
        assert.ok(meterFuel(imported([0x01, 0x70, 0x00, 1]), 10), 'an imported 32-bit table');
        assert.equal(meterFuel(imported([0x01, 0x70, 0x04, 1]), 10), undefined, 'an imported table64');
      });

      it('from WAT', async () => {
        const bytes = await watToUnvalidatedWasm('(module (memory i64 1) (func (export "f") (memory.fill (i64.const 0) (i32.const 0) (i64.const 64))))', { memory64: true, bulk_memory: true });
        assert.equal(meterFuel(bytes, 10), undefined);
      });
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
        : everyCommandInput();

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

/** The module with a memory section of one page (after its function section, before its code). */
function withMemorySection(bytes: Uint8Array): Uint8Array {
  const code = readSections(bytes).find((section) => section.id === 10)!;
  return Uint8Array.from([...bytes.subarray(0, code.start), 5, 3, 1, 0x00, 1, ...bytes.subarray(code.start)]);
}
