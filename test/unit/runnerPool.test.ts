import * as assert from 'node:assert/strict';
import { JobRunner, QueueFullError, QueueTimeoutError } from '../../src/agent/runner/pool';
import { DEFAULT_JOB_LIMITS, type JobLimits, type JobOutcome } from '../../src/agent/runner/types';
import { jobOf, programJob, text, waitFor, watJob } from '../helpers/runnerJobs';
import { buildWat, watToWasm } from '../helpers/wat';

const MiB = 1024 * 1024;

function expectExited(outcome: JobOutcome): Extract<JobOutcome, { kind: 'exited' }> {
  assert.equal(outcome.kind, 'exited', JSON.stringify(outcome.kind === 'not-runnable' ? outcome.message : outcome.kind));
  return outcome as Extract<JobOutcome, { kind: 'exited' }>;
}

function expectKind<K extends JobOutcome['kind']>(outcome: JobOutcome, kind: K): Extract<JobOutcome, { kind: K }> {
  assert.equal(outcome.kind, kind);
  return outcome as Extract<JobOutcome, { kind: K }>;
}

async function expectHello(runner: JobRunner): Promise<void> {
  const outcome = expectExited(await runner.run(watJob('hello')));
  assert.equal(text(outcome.stdout), 'hello, world\n');
}

describe('JobRunner', function () {
  this.timeout(30_000);
  const runners: JobRunner[] = [];
  function runnerWith(limits: Partial<JobLimits> = {}, workers = 2): JobRunner {
    const runner = new JobRunner({ limits: { ...DEFAULT_JOB_LIMITS, ...limits }, workers });
    runners.push(runner);
    return runner;
  }
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((runner) => runner.close()));
  });

  describe('outcomes', () => {
    it('exited with code 0: stdout and stderr are captured', async () => {
      const outcome = expectExited(await runnerWith().run(watJob('hello')));
      assert.deepEqual(
        { exitCode: outcome.exitCode, stdout: text(outcome.stdout), stderr: text(outcome.stderr), limited: outcome.outputLimited },
        { exitCode: 0, stdout: 'hello, world\n', stderr: '', limited: false },
      );
      assert.ok(outcome.durationMs >= 0);
    });

    it('gives the job its stdin', async () => {
      const outcome = expectExited(await runnerWith().run(watJob('uppercase', 'make me loud')));
      assert.equal(text(outcome.stdout), 'MAKE ME LOUD');
    });

    it('exited with code n: the code and stderr', async () => {
      const outcome = expectExited(await runnerWith().run(watJob('exit-code')));
      assert.equal(outcome.exitCode, 3);
      assert.equal(text(outcome.stderr), 'something went wrong\n');
      assert.equal(text(outcome.stdout), 'to stdout\n');
    });

    it('trapped: the trap message and what was printed before it', async () => {
      const outcome = expectKind(await runnerWith().run(watJob('trap')), 'trapped');
      assert.equal(outcome.trap, 'unreachable');
      assert.equal(text(outcome.stdout), 'before the trap\n');
      assert.equal(text(outcome.stderr), 'about to trap\n');
    });

    it('trapped on an out-of-bounds access and on a stack overflow', async () => {
      const runner = runnerWith();
      assert.match(expectKind(await runner.run(watJob('out-of-bounds')), 'trapped').trap, /memory access out of bounds/);
      assert.match(expectKind(await runner.run(watJob('stack-overflow')), 'trapped').trap, /Maximum call stack size exceeded/);
      await expectHello(runner);
    });

    it('sleeps as long as asked: a 2^63-1 ns poll_oneoff sleep lasts until the time limit ends it', async () => {
      const runner = runnerWith({ timeoutMs: 400 });
      const outcome = expectKind(await runner.run(watJob('sleep-forever')), 'timed-out');
      assert.equal(text(outcome.stdout), '', 'it never woke up');
      assert.ok(outcome.durationMs >= 390, `slept ${outcome.durationMs} ms, not until the limit`);
      await expectHello(runner);
    });

    it('answers poll_oneoff with 2M subscriptions (within the job memory limit) with 2M events', async () => {
      const outcome = expectExited(await runnerWith({ memoryBytes: 200 * MiB }).run(watJob('poll-many')));
      assert.equal(new DataView(outcome.stdout.buffer, outcome.stdout.byteOffset).getUint32(0, true), 2_000_000);
    });

    it('wrote more than the output limit: stdout up to the limit, then stopped; the pool runs on', async () => {
      const runner = runnerWith({ outputBytes: 100_000 });
      const outcome = expectExited(await runner.run(watJob('output-flood')));
      assert.equal(outcome.outputLimited, true);
      assert.equal(outcome.exitCode, 0);
      assert.equal(outcome.stdout.length, 100_000);
      assert.ok(outcome.stdout.every((b) => b === 'x'.charCodeAt(0)));
      await expectHello(runner);
    });

    it('ran past the time limit: timed-out with what it printed; the pool runs on', async () => {
      const runner = runnerWith({ timeoutMs: 300 }, 1);
      const outcome = expectKind(await runner.run(watJob('spin')), 'timed-out');
      assert.equal(outcome.limitMs, 300);
      assert.equal(text(outcome.stdout), 'spinning\n');
      assert.equal(runner.running, 0);
      await expectHello(runner);
    });

    it('grew memory to the memory limit: memory.grow fails inside the job; the pool runs on', async () => {
      const runner = runnerWith({ memoryBytes: 8 * MiB });
      const outcome = expectExited(await runner.run(watJob('memory-hog')));
      assert.equal(outcome.exitCode, 8, 'the job stopped growing at 8 MiB');
      await expectHello(runner);
    });

    it('a C program sees malloc return NULL at the memory limit', async () => {
      const outcome = expectExited(await runnerWith({ memoryBytes: 16 * MiB }).run(programJob('probe', 'oom!')));
      assert.match(text(outcome.stdout), /^malloc returned NULL after 1[0-5] MiB\n$/);
    });
  });

  describe('not runnable', () => {
    async function messageOf(runner: JobRunner, bytes: Uint8Array | Promise<Uint8Array>): Promise<string> {
      const loaded = await bytes;
      const outcome = await runner.run(jobOf(async () => loaded, `bytes:${Math.random()}`));
      return expectKind(outcome, 'not-runnable').message;
    }

    it('explains each reason a module cannot run', async () => {
      const runner = runnerWith();
      assert.match(await messageOf(runner, buildWat('no-start')), /does not export a "_start" function/);
      assert.match(await messageOf(runner, buildWat('no-memory')), /does not export its memory/);
      assert.match(await messageOf(runner, buildWat('unknown-import')), /extension "env" declaration missing: the job imports from "env"/);
      assert.match(await messageOf(runner, buildWat('big-initial-memory')), /256\.06 MiB of initial memory, more than the memory limit of 256 MiB/);
      assert.match(await messageOf(runner, new TextEncoder().encode('#!/bin/sh\necho hi\n')), /^Not a WebAssembly module: it does not start with \\0asm/);
      const hello = await buildWat('hello');
      assert.match(await messageOf(runner, hello.subarray(0, hello.length - 3)), /truncated/);
      const wrongWasi = watToWasm(
        '(module (import "wasi_snapshot_preview1" "fd_teleport" (func)) (memory (export "memory") 1) (func (export "_start")))',
      );
      assert.match(await messageOf(runner, wrongWasi), /imports fd_teleport from "wasi_snapshot_preview1", which WASI preview1 does not define/);
      await expectHello(runner);
    });

    it('explains a module whose sections parse but whose code does not compile', async () => {
      const corrupt = Uint8Array.from(await buildWat('out-of-bounds'));
      // The module ends with its code section, whose last byte is the function's `end`: make it an invalid opcode.
      corrupt[corrupt.length - 1] = 0xff;
      const message = await messageOf(runnerWith(), corrupt);
      assert.match(message, /not a valid WebAssembly module/);
    });
  });

  describe('compiling', () => {
    it('loads and compiles an executable once per key, even when first runs overlap', async () => {
      const runner = runnerWith();
      let loads = 0;
      const load = (): Promise<Uint8Array> => {
        loads++;
        return buildWat('uppercase');
      };
      const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => runner.run(jobOf(load, 'one-key', `job ${i}`))));
      outcomes.forEach((outcome, i) => assert.equal(text(expectExited(outcome).stdout), `JOB ${i}`));
      assert.equal(loads, 1);
      assert.equal(text(expectExited(await runner.run(jobOf(load, 'one-key', 'again'))).stdout), 'AGAIN');
      assert.equal(loads, 1, 'a later run uses the compiled module');
    });

    it('stays correct when its caches evict modules (more executables than the cache holds)', async () => {
      const runner = new JobRunner({ limits: DEFAULT_JOB_LIMITS, workers: 1, compiledModules: 2 });
      runners.push(runner);
      const names = ['hello', 'uppercase', 'exit-code'];
      for (let round = 0; round < 3; round++) {
        for (const name of names) {
          const outcome = expectExited(await runner.run(watJob(name, 'abc')));
          const expected = { hello: 'hello, world\n', uppercase: 'ABC', 'exit-code': 'to stdout\n' }[name];
          assert.equal(text(outcome.stdout), expected, `${name} in round ${round}`);
        }
      }
    });

    it('keeps a refusal for its key too', async () => {
      const runner = runnerWith();
      const job = watJob('no-start');
      expectKind(await runner.run(job), 'not-runnable');
      expectKind(await runner.run(job), 'not-runnable');
      assert.equal(job.loads.count, 1);
    });

    it('rejects with the error of loadBytes, and tries again on the next run', async () => {
      const runner = runnerWith();
      let fail = true;
      const job = jobOf(async () => {
        if (fail) throw new Error('disk on fire');
        return buildWat('hello');
      }, 'flaky');
      await assert.rejects(runner.run(job), /disk on fire/);
      fail = false;
      assert.equal(text(expectExited(await runner.run(job)).stdout), 'hello, world\n');
    });
  });

  describe('concurrency', () => {
    it('runs 50 jobs at once, each with its own input and output', async () => {
      const runner = runnerWith();
      const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => runner.run(watJob('uppercase', `input number ${i}`))));
      outcomes.forEach((outcome, i) => assert.equal(text(expectExited(outcome).stdout), `INPUT NUMBER ${i}`));
      assert.equal(runner.running, 0);
    });

    it('a job that times out ends only itself: the others finish correctly', async () => {
      // Long enough for the others to never wait their own time limit in the queue (they would get 503).
      const runner = runnerWith({ timeoutMs: 2_000 }, 2);
      const spin = runner.run(watJob('spin'));
      const others = Array.from({ length: 20 }, (_, i) => runner.run(watJob('uppercase', `other ${i}`)));
      expectKind(await spin, 'timed-out');
      (await Promise.all(others)).forEach((outcome, i) => assert.equal(text(expectExited(outcome).stdout), `OTHER ${i}`));
    });

    it('passes a large stdin through and back', async () => {
      const input = 'abcdefghij'.repeat(200_000);
      const outcome = expectExited(await runnerWith().run(watJob('uppercase', input)));
      assert.equal(text(outcome.stdout), input.toUpperCase());
    });
  });

  describe('a bounded queue', () => {
    function boundedRunner(timeoutMs: number, bounds: { maxQueuedJobs?: number; maxQueuedInputBytes?: number }): JobRunner {
      const runner = new JobRunner({ limits: { ...DEFAULT_JOB_LIMITS, timeoutMs }, workers: 1, ...bounds });
      runners.push(runner);
      return runner;
    }

    it('refuses a job at once when the queue is full, with a retry time, and runs jobs again after', async () => {
      const runner = boundedRunner(5_000, { maxQueuedJobs: 1 });
      // Compiled first, so each run below joins the queue at once and in order (a compile in flight
      // could let the third job overtake the second).
      await runner.run(watJob('hello'));
      await runner.run(watJob('uppercase', 'warm'));
      const stop = new AbortController();
      const spinning = runner.run(watJob('spin', '', stop.signal));
      await waitFor(() => runner.running === 1, 'the spinning job to start');
      const queued = runner.run(watJob('hello'));
      await assert.rejects(runner.run(watJob('uppercase', 'x')), (error: unknown) => {
        assert.ok(error instanceof QueueFullError);
        assert.equal(error.why, 'jobs');
        assert.ok(error.retryAfterS >= 1 && error.retryAfterS <= 5, `retry after ${error.retryAfterS} s`);
        return true;
      });
      stop.abort();
      await assert.rejects(spinning, { name: 'AbortError' });
      assert.equal(text(expectExited(await queued).stdout), 'hello, world\n');
      await expectHello(runner);
    });

    it('refuses a job whose input would pass the byte budget of the queue', async () => {
      const runner = boundedRunner(5_000, { maxQueuedInputBytes: 10 });
      const stop = new AbortController();
      const spinning = runner.run(watJob('spin', '', stop.signal));
      await waitFor(() => runner.running === 1, 'the spinning job to start');
      await assert.rejects(runner.run(watJob('uppercase', 'more than ten bytes')), { name: 'QueueFullError', why: 'input' });
      const small = runner.run(watJob('uppercase', 'ten bytes'));
      stop.abort();
      await assert.rejects(spinning, { name: 'AbortError' });
      assert.equal(text(expectExited(await small).stdout), 'TEN BYTES');
    });

    it('does not run a job late: one that waited past its time limit is refused with QueueTimeoutError', async () => {
      const runner = boundedRunner(300, {});
      const first = runner.run(watJob('spin'));
      await waitFor(() => runner.running === 1, 'the spinning job to start');
      const second = runner.run(watJob('spin')).catch(() => undefined);
      const third = jobOf(() => buildWat('hello'), 'late hello');
      await assert.rejects(runner.run(third), (error: unknown) => error instanceof QueueTimeoutError && error.waitedMs >= 290);
      expectKind(await first, 'timed-out');
      await second;
      await expectHello(runner);
    });
  });

  describe('aborting and closing', () => {
    it('aborts a running job with the signal, and keeps running the next ones', async () => {
      const runner = runnerWith({ timeoutMs: 60_000 }, 1);
      const controller = new AbortController();
      const spinning = runner.run(watJob('spin', '', controller.signal));
      await waitFor(() => runner.running === 1, 'the job to start');
      controller.abort();
      await assert.rejects(spinning, { name: 'AbortError' });
      assert.equal(runner.running, 0);
      await expectHello(runner);
    });

    it('aborts a queued job without running it', async () => {
      const runner = runnerWith({ timeoutMs: 60_000 }, 1);
      const spinController = new AbortController();
      const spinning = runner.run(watJob('spin', '', spinController.signal));
      await waitFor(() => runner.running === 1, 'the spinning job to start');
      const queuedController = new AbortController();
      const queued = runner.run(watJob('hello', '', queuedController.signal));
      queuedController.abort();
      await assert.rejects(queued, { name: 'AbortError' });
      spinController.abort();
      await assert.rejects(spinning, { name: 'AbortError' });
      await expectHello(runner);
    });

    it('refuses a job whose signal is already aborted', async () => {
      await assert.rejects(runnerWith().run(watJob('hello', '', AbortSignal.abort())), { name: 'AbortError' });
    });

    it('close() ends running and queued jobs, and refuses new ones', async () => {
      const runner = runnerWith({ timeoutMs: 60_000 }, 1);
      const running = runner.run(watJob('spin'));
      await waitFor(() => runner.running === 1, 'the job to start');
      const queued = runner.run(watJob('hello'));
      const bothRejected = Promise.all([assert.rejects(running, /closed/), assert.rejects(queued, /closed/)]);
      await runner.close();
      await bothRejected;
      await assert.rejects(runner.run(watJob('hello')), /closed/);
    });
  });

  describe('real programs', () => {
    it('runs a C program built with wasi-libc', async () => {
      const outcome = expectExited(await runnerWith().run(programJob('probe', 'echo me')));
      assert.equal(
        text(outcome.stdout),
        [
          'argc=0',
          'stdin=7 bytes',
          'HOME=(unset)',
          'fopen=failed',
          'slept 5 ms=yes',
          'time after 2024=yes',
          'random=yes',
          'isatty(1)=0',
          'lseek(0)=ESPIPE',
          'echo me',
        ].join('\n'),
      );
      assert.equal(text(outcome.stderr), 'to stderr\n');
    });

    it('reports the exit code and the abort of a C program', async () => {
      const runner = runnerWith();
      assert.equal(expectExited(await runner.run(programJob('probe', 'exit'))).exitCode, 7);
      assert.equal(expectKind(await runner.run(programJob('probe', 'abort')), 'trapped').trap, 'unreachable');
    });

    it('runs a Rust std program, its exit code and its panic', async () => {
      const runner = runnerWith();
      const counted = expectExited(await runner.run(programJob('words', 'one two three')));
      assert.deepEqual([text(counted.stdout), text(counted.stderr)], ['3 words\n', 'done\n']);
      const exited = expectExited(await runner.run(programJob('words', 'exit')));
      assert.deepEqual([exited.exitCode, text(exited.stderr)], [5, 'exiting with 5\n']);
      const panicked = expectKind(await runner.run(programJob('words', 'panic')), 'trapped');
      assert.equal(panicked.trap, 'unreachable');
      assert.match(text(panicked.stderr), /panicked at 'asked to panic'/);
    });
  });
});
