/**
 * Findings of a code review of the core, each a test that failed before its fix.
 */
import * as assert from 'node:assert/strict';
import wabt from 'wabt';

import { runInProcess } from '../../src/agent/runner/inProcess';
import { JobRunner } from '../../src/agent/runner/pool';
import { prepareJobModule } from '../../src/agent/runner/prepare';
import { DEFAULT_JOB_LIMITS } from '../../src/agent/runner/types';
import { capMemory, TABLE_ENTRY_LIMIT } from '../../src/wasm/memoryCap';

/** WAT with the reference-types proposal on (several tables, externref), which Node 20 runs. */
async function watWithTables(text: string): Promise<Uint8Array> {
  const module = (await wabt()).parseWat('review.wat', text, { reference_types: true, bulk_memory: true });
  try {
    module.resolveNames();
    module.validate();
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

/** WebAssembly.Table as the engine has it (src/wasm's declarations do not cover tables). */
interface GrowableTable {
  readonly length: number;
  grow(delta: number): number;
}

describe('review: wasm tables are bounded like memory', () => {
  // Table elements live on the worker's JS heap: a guest that grows tables to V8's own maximum
  // (10M entries each) in enough tables reaches the heap limit, and V8 then aborts the whole
  // process (agent, or extension host), not the worker.
  it('caps the tables of a module to TABLE_ENTRY_LIMIT entries in all', async () => {
    const bytes = await watWithTables(`(module
      (table (export "a") 1 funcref) (table (export "b") 2 100 externref) (table (export "c") 0 externref)
      (memory (export "memory") 1))`);
    const result = capMemory(bytes, 16);
    assert.ok(result.ok);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(result.bytes));
    const tables = ['a', 'b', 'c'].map((name) => instance.exports[name] as unknown as GrowableTable);
    const grown = tables.map((table) => {
      let length = table.length;
      try {
        table.grow(TABLE_ENTRY_LIMIT);
        length = table.length;
      } catch {
        // over its maximum
      }
      return length;
    });
    assert.deepEqual(grown, [1, 2, 0], 'no table can grow by the whole budget');
    // b keeps its own smaller maximum; together the three stay within the budget.
    assert.throws(() => tables[1].grow(99));
  });

  it('refuses a module whose tables start larger than the budget', async () => {
    const bytes = await watWithTables(`(module (table ${TABLE_ENTRY_LIMIT} externref) (table 1 externref) (memory (export "memory") 1))`);
    const result = capMemory(bytes, 16);
    assert.equal(result.ok, false);
    assert.match(result.ok ? '' : result.problem, /tables of 10000001 entries in all, more than the limit of 10000000/);
  });

  it('a job that grows its tables sees table.grow fail, and the agent keeps running', async () => {
    const tables = [0, 1, 2, 3].map((i) => `(table $t${i} 0 externref)`).join(' ');
    // Exit code = how many of the four 10M-entry grows succeeded.
    const grows = [0, 1, 2, 3]
      .map((i) => `(if (i32.ne (table.grow $t${i} (ref.null extern) (i32.const 10000000)) (i32.const -1)) (then (local.set $ok (i32.add (local.get $ok) (i32.const 1)))))`)
      .join(' ');
    const bytes = await watWithTables(`(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1) ${tables}
      (func (export "_start") (local $ok i32) ${grows} (call $exit (local.get $ok))))`);
    const runner = new JobRunner({ limits: { ...DEFAULT_JOB_LIMITS, timeoutMs: 20_000 }, workers: 1 });
    try {
      const outcome = await runner.run({ key: 'tables', loadBytes: async () => bytes, stdin: new Uint8Array() });
      assert.equal(outcome.kind, 'exited');
      assert.equal(outcome.kind === 'exited' && outcome.exitCode, 0, 'every grow past the budget failed in the guest');
    } finally {
      await runner.close();
    }
  });
});

describe('review: WASI pointers are unsigned', () => {
  // A wasm i32 reaches JS as a signed number: 0xFFFFFFF0 arrives as -16. Treated as signed, a
  // pointer at or past 2 GiB passed the bounds check, and subarray(-16, 0) then named the wrong
  // bytes (or none): random_get "succeeded" filling nothing, fd_write trapped on a DataView range
  // error, and a job allowed more than 2 GiB (--job-memory-mb goes to 4096) wrote the wrong bytes.
  it('answers EFAULT, not success or a trap, for pointers at 2 GiB and above', async () => {
    const bytes = await watWithTables(`(module
      (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (func (export "_start")
        ;; errnos at 100..102, then written to stdout from there
        (i32.store8 (i32.const 100) (call $random (i32.const -16) (i32.const 16)))
        (i32.store8 (i32.const 101) (call $write (i32.const 1) (i32.const -8) (i32.const 1) (i32.const 0)))
        ;; an iovec (at 200) naming 8 bytes at 0xFFFFFFF8 for fd_read
        (i32.store (i32.const 200) (i32.const -8))
        (i32.store (i32.const 204) (i32.const 8))
        (i32.store8 (i32.const 102) (call $read (i32.const 0) (i32.const 200) (i32.const 1) (i32.const 0)))
        (i32.store (i32.const 208) (i32.const 100))
        (i32.store (i32.const 212) (i32.const 3))
        (drop (call $write (i32.const 1) (i32.const 208) (i32.const 1) (i32.const 0)))
        (call $exit (i32.const 0))))`);
    const prepared = await prepareJobModule(bytes, 16 * 1024 * 1024);
    assert.ok(prepared.ok);
    const outcome = runInProcess(prepared.module, new TextEncoder().encode('stdin bytes'));
    assert.equal(outcome.kind, 'exited', outcome.kind === 'trapped' ? outcome.trap : '');
    const EFAULT = 21;
    assert.deepEqual([...(outcome.kind === 'exited' ? outcome.stdout : [])], [EFAULT, EFAULT, EFAULT]);
  });
});
