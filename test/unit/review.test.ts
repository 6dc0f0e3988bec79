/**
 * Findings of a code review of the core, each a test that failed before its fix.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as http from 'node:http';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';

import { runInProcess } from '../../src/agent/runner/inProcess';
import { JobRunner } from '../../src/agent/runner/pool';
import { prepareJobModule } from '../../src/agent/runner/prepare';
import { DEFAULT_JOB_LIMITS } from '../../src/agent/runner/types';
import { ContentGoneError, LocalJobStore } from '../../src/agent/storage';
import { runCli } from '../../src/cli/main';
import { checkManifest, locateKeys } from '../../src/manifest';
import { capMemory, TABLE_ENTRY_LIMIT } from '../../src/wasm/memoryCap';
import { makeStorageDir, readAnswer, request, startTestAgent, storeJob, type HttpAnswer, type TestAgent } from '../helpers/agent';
import { buildWat, watToWasm } from '../helpers/wat';

/** WAT with the reference-types proposal on (several tables, externref), which Node 20 runs. */
function watWithTables(text: string): Promise<Uint8Array> {
  return watToWasm(text, 'review.wat', { reference_types: true });
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

/**
 * A request whose body goes out only once the agent said 100 Continue, which it says when the
 * handler starts reading the body: by then the handler has looked the job up. `between` runs in
 * that gap.
 */
function withGapBeforeBody(url: string, method: string, path: string, body: Uint8Array, between: () => Promise<void>): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, url), {
      method,
      agent: false,
      headers: { expect: '100-continue', 'content-length': String(body.byteLength) },
    });
    req.on('continue', () => between().then(() => req.end(body), reject));
    req.on('response', (res) => readAnswer(res).then(resolve, reject));
    req.on('error', reject);
    req.flushHeaders();
  });
}

describe('review: deleting a job while a run of it starts', () => {
  let agent: TestAgent;
  before(async () => {
    agent = await startTestAgent({ workers: 1 });
  });
  after(() => agent.stop());

  // The run looked the executable up, then its bytes were deleted before the runner read them:
  // the agent answered 500 "failed its integrity check (corrupted on disk); store it again" and
  // logged an error, for a store that is intact.
  it('answers 404 (deleted while starting), not 500 corrupted, and logs no error', async () => {
    await storeJob(agent, 'gone', '1.0.0', await buildWat('uppercase'));
    const path = '/v1/storage/manifests/test.serval.gone/executable/1.0.0';
    const answer = await withGapBeforeBody(agent.url, 'POST', '/v1/jobs/test.serval.gone/run', Buffer.from('hi'), async () => {
      assert.equal((await request(agent.url, 'DELETE', path)).status, 204);
    });
    assert.equal(answer.status, 404, answer.text);
    assert.match(answer.text, /deleted or replaced while/);
    assert.ok(answer.headers['serval-job-id']);
    assert.deepEqual(agent.logs.filter((l) => l.level === 'error'), []);
  });

  it('the store tells bytes deleted since the lookup from bytes damaged on disk', async () => {
    const dir = await makeStorageDir();
    try {
      const store = await LocalJobStore.open(dir, () => undefined);
      await store.putManifest('test.serval.swap', '1.0.0', Buffer.from('name = "swap"'));
      await store.putExecutable('test.serval.swap', '1.0.0', await buildWat('uppercase'));
      const info = await store.executable('test.serval.swap', '1.0.0');
      assert.ok(info);
      assert.equal(await store.deleteExecutable('test.serval.swap', '1.0.0'), true);
      await assert.rejects(store.readExecutable('test.serval.swap', info), ContentGoneError);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('review: serval run | head', () => {
  const REPO = path.resolve(__dirname, __dirname.includes(`${path.sep}out${path.sep}`) ? '../../..' : '../..');
  const CLI = path.join(REPO, 'dist', 'cli.js');
  let agent: TestAgent;
  before(async function () {
    if (!existsSync(CLI)) this.skip(); // built by `node esbuild.mjs` (and by cli.test.ts)
    agent = await startTestAgent({ workers: 1 });
    await storeJob(agent, 'loud', '1.0.0', await buildWat('uppercase'));
  });
  after(() => agent?.stop());

  // The reader of stdout went away (`| head -1`): the write failed with EPIPE, nobody listened
  // for 'error' on process.stdout, and serval died with Node's "Unhandled 'error' event" trace.
  it('stops quietly with 141 (as a Unix tool killed by SIGPIPE) when the reader of stdout leaves', async () => {
    const child = spawn(process.execPath, [CLI, 'run', 'test.serval.loud', '--agent', agent.url], {
      env: { ...process.env, SERVAL_AGENT_TOKEN: '' },
    });
    child.stdin.end(Buffer.alloc(4 * 1024 * 1024, 'a'));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    assert.equal(stderr, '');
    assert.equal(code, 141);
  });
});

describe('review: a manifest saved with a byte order mark', () => {
  // Notepad and some Windows tools save UTF-8 with a BOM. smol-toml skips it, the key locator did
  // not: the first line's key was never found, so its problem underlined the whole line from column 1.
  const text = '\uFEFFname = "Bad Name"\r\nnamespace = "sh.serval"\r\nversion = "1.0.0"\r\nbinary = "x.wasm"\r\ndescription = "d"\r\n';

  it('locates the key of the first line after the BOM', () => {
    const name = locateKeys(text).get('name');
    assert.ok(name, 'name is located');
    assert.equal(name.value.text, '"Bad Name"');
    const [problem] = checkManifest(text).problems;
    assert.match(problem.message, /^name must be/);
    assert.deepEqual(problem.range, name.valueRange);
  });

  it('serval store reports file:line:col of the value, as an editor counts it (the BOM is no column)', async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'serval-review-'));
    try {
      const file = path.join(folder, 'manifest.toml');
      await writeFile(file, text);
      const stderr = new PassThrough();
      const stdin = new PassThrough();
      stdin.end();
      const code = await runCli(['store', file], { stdin, stdout: new PassThrough(), stderr, env: {}, cwd: folder }, new AbortController().signal);
      assert.equal(code, 5);
      assert.match(String(stderr.read()), new RegExp(`^${file.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}:1:8: name must be`));
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe('review: a job worker that cannot start', () => {
  // A worker whose script is missing or broken comes online, then dies at once; the pool replaced
  // it with another that died the same way, forever: a core spun on thread starts for as long as
  // the agent (or the extension host) lived, and every job trapped.
  it('is not respawned, and jobs fail with the reason', async () => {
    const runner = new JobRunner({ limits: DEFAULT_JOB_LIMITS, workers: 1, workerScript: path.join(os.tmpdir(), 'no-such-job-worker.js') });
    try {
      const job = { key: 'k', loadBytes: () => buildWat('uppercase'), stdin: new Uint8Array() };
      await assert.rejects(runner.run(job), /job worker thread could not start \(Cannot find module .*no-such-job-worker\.js/);
      await assert.rejects(runner.run(job), /job worker thread could not start/);
    } finally {
      await runner.close();
    }
  });
});
