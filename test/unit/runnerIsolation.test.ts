/**
 * Job memories are reused (runner/jobMemory.ts): no job may ever see a byte of another job's
 * memory, globals or tables. A probe writes a secret everywhere it can in one job and looks for it
 * in the next, after plain exits, memory growth and traps, within one module and across modules.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { JobMemories } from '../../src/agent/runner/jobMemory';
import { JobRunner } from '../../src/agent/runner/pool';
import { prepareJobModule } from '../../src/agent/runner/prepare';
import { DEFAULT_JOB_LIMITS, type JobOutcome } from '../../src/agent/runner/types';
import { MemorySink, WasiHost } from '../../src/agent/runner/wasi';
import { jobOf, text, WASI_PROGRAMS } from '../helpers/runnerJobs';
import { buildWat, WAT_FIXTURES, watToWasm } from '../helpers/wat';

/** What the probe prints when it finds nothing: no secret in memory, global or table; 2 pages. */
const CLEAN = '---\u0002';

function stdoutOf(outcome: JobOutcome): string {
  assert.ok(outcome.kind === 'exited' || outcome.kind === 'trapped', outcome.kind);
  return text(outcome.stdout);
}

describe('job isolation with reused memories', function () {
  this.timeout(30_000);
  let runner: JobRunner;
  let probe: () => Promise<Uint8Array>;
  let otherProbe: () => Promise<Uint8Array>;
  before(async () => {
    const source = await fs.readFile(path.join(WAT_FIXTURES, 'secret.wat'), 'utf8');
    const bytes = await buildWat('secret');
    // The same probe as another module (one more function): a different compiled module and memory.
    const other = await watToWasm(source.replace('(func $marker)', '(func $marker) (func $other)'), 'secret-other.wat', { reference_types: true });
    probe = () => Promise.resolve(bytes);
    otherProbe = () => Promise.resolve(other);
  });
  beforeEach(() => {
    // One worker: every job lands on the thread, and the memory, of the job before it.
    runner = new JobRunner({ limits: DEFAULT_JOB_LIMITS, workers: 1 });
  });
  afterEach(() => runner.close());

  const run = (load: () => Promise<Uint8Array>, key: string, stdin: string) => runner.run(jobOf(load, key, stdin));

  it('the probe finds a secret where one is (so a clean answer means something)', async () => {
    // Within one job: write, then report without exiting; done here by writing then reading in
    // the WASI host directly, on one memory that is not recycled between the two.
    const prepared = await prepareJobModule(await probe(), DEFAULT_JOB_LIMITS.memoryBytes);
    assert.ok(prepared.ok && prepared.memory, 'the probe imports its memory after preparation');
    const memory = new WebAssembly.Memory(prepared.memory);
    const stdout = new MemorySink();
    const host = new WasiHost(stdout, new MemorySink());
    host.run(prepared.module, new TextEncoder().encode('wg'), undefined, memory);
    host.run(prepared.module, new TextEncoder().encode('r'), undefined, memory);
    assert.equal(text(stdout.take()), 'M--\u0003', 'memory not zeroed between runs leaks, grown (globals and tables never do)');
  });

  for (const [how, write] of [
    ['a job that exits', 'w'],
    ['a job that grew its memory', 'wg'],
    ['a job that trapped', 'wt'],
  ] as const) {
    it(`leaves nothing for the next job of the same module after ${how}`, async () => {
      for (let round = 0; round < 3; round++) {
        const written = await run(probe, 'probe', write);
        if (write === 'wt') assert.equal(written.kind, 'trapped');
        assert.equal(stdoutOf(await run(probe, 'probe', 'r')), CLEAN, `round ${round}`);
      }
    });
  }

  it('leaves nothing for a job of another module, either way round', async () => {
    for (const [writer, reader] of [
      [probe, otherProbe],
      [otherProbe, probe],
    ]) {
      await run(writer, writer === probe ? 'probe' : 'other', 'wg');
      assert.equal(stdoutOf(await run(reader, reader === probe ? 'probe' : 'other', 'r')), CLEAN);
    }
  });

  it('leaves nothing when jobs of two modules alternate, with growth and traps mixed in', async () => {
    const writes = ['w', 'wg', 'wt'];
    for (let i = 0; i < 12; i++) {
      const [load, key] = i % 2 === 0 ? [probe, 'probe'] : [otherProbe, 'other'];
      await run(load, key, writes[i % writes.length]!);
      assert.equal(stdoutOf(await run(load, key, 'r')), CLEAN, `after ${writes[i % writes.length]} (${key})`);
      assert.equal(stdoutOf(await run(i % 2 === 0 ? otherProbe : probe, i % 2 === 0 ? 'other' : 'probe', 'r')), CLEAN);
    }
  });

  it("a large output handed over without a copy stays the job's own while the worker runs the next jobs", async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 'abc');
    // Input in shared memory, as the agent reads a large request body: the worker reads it in place.
    const sharedInput = Buffer.from(new SharedArrayBuffer(big.length));
    big.copy(sharedInput);
    const uppercase = () => buildWat('uppercase');
    const first = await run(uppercase, 'uppercase', '');
    assert.equal(stdoutOf(first), '');
    const large = await runner.run(jobOf(uppercase, 'uppercase', sharedInput));
    const second = await run(uppercase, 'uppercase', 'small');
    const third = await runner.run(jobOf(uppercase, 'uppercase', big));
    assert.equal(stdoutOf(second), 'SMALL');
    assert.ok(large.kind === 'exited' && third.kind === 'exited');
    const expected = Buffer.from(big.toString().toUpperCase());
    assert.ok(Buffer.from(large.stdout).equals(expected), 'the first large output is intact after two more jobs');
    assert.ok(Buffer.from(third.stdout).equals(expected));
    assert.ok(Buffer.from(sharedInput).equals(big), "the caller's shared input is untouched");
  });

  it('a real Rust program: its memory is all zero after a job, and back to its initial size after one that grew it', async () => {
    const prepared = await prepareJobModule(await fs.readFile(path.join(WASI_PROGRAMS, 'words.wasm')), DEFAULT_JOB_LIMITS.memoryBytes);
    assert.ok(prepared.ok && prepared.memory, 'words.wasm imports its memory after preparation');
    const shape = prepared.memory;
    const memories = new JobMemories<string>();
    const stdout = new MemorySink();
    const host = new WasiHost(stdout, new MemorySink());
    const secret = 'hunter2-'.repeat(64);
    for (const input of [secret, `${secret} `.repeat(40_000)]) {
      const memory = memories.take('words', shape);
      host.run(prepared.module, new TextEncoder().encode(input), undefined, memory);
      assert.match(text(stdout.take()), /^\d+ words\n$/);
      assert.ok(Buffer.from(memory.buffer).includes('hunter2-'), 'the job had the secret in its memory');
      memories.recycle('words', shape);
      const next = memories.take('words', shape);
      assert.equal(next.buffer.byteLength, shape.initial * 65536);
      assert.ok(new Uint8Array(next.buffer).every((byte) => byte === 0), 'the next job gets an all-zero memory');
      memories.recycle('words', shape);
    }
  });
});

describe('preparing a job module', () => {
  it('drops custom sections before compiling (they never run) and keeps what the module computes', async () => {
    const bytes = await buildWat('uppercase');
    // A 1 MiB custom section ("debug info") appended: id 0, size, name "debug", payload.
    const payload = new Uint8Array(1024 * 1024).fill(7);
    const name = new TextEncoder().encode('debug');
    const content = Buffer.concat([Buffer.from([name.length]), name, payload]);
    const size = content.length;
    const leb = [(size & 0x7f) | 0x80, ((size >> 7) & 0x7f) | 0x80, (size >> 14) & 0x7f];
    const withDebug = Buffer.concat([bytes, Buffer.from([0, ...leb]), content]);
    const prepared = await prepareJobModule(withDebug, DEFAULT_JOB_LIMITS.memoryBytes);
    assert.ok(prepared.ok);
    assert.ok(prepared.bytes < bytes.length + 64, `${prepared.bytes} bytes kept of ${withDebug.length}`);
    assert.deepEqual(WebAssembly.Module.customSections(prepared.module, 'debug'), []);
    const runner = new JobRunner({ limits: DEFAULT_JOB_LIMITS, workers: 1 });
    try {
      assert.equal(stdoutOf(await runner.run(jobOf(() => Promise.resolve(withDebug), 'debug', 'shout'))), 'SHOUT');
    } finally {
      await runner.close();
    }
  });

  it('makes a module import its memory, with the limits it declared (capped)', async () => {
    const prepared = await prepareJobModule(await buildWat('uppercase'), 16 * 65536);
    assert.ok(prepared.ok);
    assert.deepEqual(prepared.memory, { initial: 1, maximum: 16 });
    assert.deepEqual(WebAssembly.Module.imports(prepared.module).filter((i) => i.kind === 'memory'), [{ module: 'serval', name: 'memory', kind: 'memory' }]);
  });
});
