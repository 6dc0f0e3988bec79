/**
 * Edges of the JobRunner's fast paths: instances made ahead of a job (and the start sections that
 * rule them out), a worker that dies under its job, and stdin too large for the shared channel.
 */
import * as assert from 'node:assert/strict';
import type { Worker } from 'node:worker_threads';
import { JobRunner, prepareJobModule } from '../../src/agent/runner/pool';
import { readSharedOutput } from '../../src/agent/runner/sharedOutput';
import { DEFAULT_JOB_LIMITS, type JobOutcome } from '../../src/agent/runner/types';
import { jobOf, text, waitFor, watJob } from '../helpers/runnerJobs';
import { buildWat } from '../helpers/wat';

const KiB = 1024;
const MiB = 1024 * KiB;
/** Far past the mocha timeout: no job in this file may end by the time limit. */
const NO_TIME_LIMIT_MS = 10 * 60_000;

function expectExited(outcome: JobOutcome): Extract<JobOutcome, { kind: 'exited' }> {
  const detail = outcome.kind === 'not-runnable' ? outcome.message : outcome.kind === 'trapped' ? outcome.trap : outcome.kind;
  assert.equal(outcome.kind, 'exited', detail);
  return outcome as Extract<JobOutcome, { kind: 'exited' }>;
}

async function stdoutOf(runner: JobRunner, job: Parameters<JobRunner['run']>[0]): Promise<string> {
  const outcome = expectExited(await runner.run(job));
  assert.equal(outcome.exitCode, 0);
  return text(outcome.stdout);
}

/**
 * The pool's private worker slots. The runner has no API to kill a worker (nothing a job can do
 * should), so the crash test reaches its internals; this is the only place that does.
 */
interface SlotInternals {
  worker: Worker;
  /** Its two job lanes; the running job's is lanes[runningLane]. */
  lanes: Array<{ stdout: SharedArrayBuffer }>;
  runningLane: number;
  task?: unknown;
}
function slotsOf(runner: JobRunner): SlotInternals[] {
  return [...(runner as unknown as { slots: Set<SlotInternals> }).slots];
}

/** Deterministic bytes covering all 256 values (a small LCG), different for each seed. */
function noise(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

/** What uppercase.wat makes of `input`: ASCII a-z raised, every other byte as it was. */
function uppercased(input: Uint8Array): Uint8Array {
  return input.map((byte) => (byte >= 0x61 && byte <= 0x7a ? byte - 0x20 : byte));
}

function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  // Buffer.compare keeps a mismatch message short (deepEqual would print a megabyte).
  assert.ok(Buffer.compare(actual, expected) === 0, `${what}: bytes differ`);
}

describe('JobRunner edges', function () {
  this.timeout(30_000);
  const runners: JobRunner[] = [];
  function runnerWith(workers: number): JobRunner {
    const runner = new JobRunner({ limits: { ...DEFAULT_JOB_LIMITS, timeoutMs: NO_TIME_LIMIT_MS }, workers });
    runners.push(runner);
    return runner;
  }
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((runner) => runner.close()));
  });

  describe('a fresh instance for every job', () => {
    it('tells modules with a start section from those without', async () => {
      const withStart = await prepareJobModule(await buildWat('start-section'), DEFAULT_JOB_LIMITS.memoryBytes);
      const without = await prepareJobModule(await buildWat('counter'), DEFAULT_JOB_LIMITS.memoryBytes);
      assert.deepEqual([withStart.ok && withStart.hasStartSection, without.ok && without.hasStartSection], [true, false]);
    });

    it('runs a start section once per job: a second run does not see the first one’s state', async () => {
      // One worker, so both runs land on the worker that already knows the module.
      const runner = runnerWith(1);
      for (let run = 1; run <= 3; run++) {
        assert.equal(await stdoutOf(runner, watJob('start-section')), 'runs=1\n', `run ${run}`);
      }
    });

    it('a module without start section sees no global or memory left by the previous job', async () => {
      const runner = runnerWith(1);
      for (let run = 1; run <= 3; run++) {
        assert.equal(await stdoutOf(runner, watJob('counter')), 'global=1 memory=1\n', `run ${run}`);
      }
    });

    it('stays fresh when jobs of other modules come in between', async () => {
      const runner = runnerWith(1);
      const sequence = ['counter', 'start-section', 'counter', 'hello', 'counter', 'counter', 'start-section'];
      const expected: Record<string, string> = {
        counter: 'global=1 memory=1\n',
        'start-section': 'runs=1\n',
        hello: 'hello, world\n',
      };
      for (const [index, name] of sequence.entries()) {
        assert.equal(await stdoutOf(runner, watJob(name)), expected[name], `job ${index} (${name})`);
      }
    });

    it('gives fresh instances to concurrent jobs of one module too', async () => {
      const runner = runnerWith(2);
      const outputs = await Promise.all(Array.from({ length: 20 }, (_, i) => stdoutOf(runner, watJob(i % 2 ? 'counter' : 'start-section'))));
      assert.deepEqual(
        outputs,
        Array.from({ length: 20 }, (_, i) => (i % 2 ? 'global=1 memory=1\n' : 'runs=1\n')),
      );
    });
  });

  describe('a worker that dies', () => {
    /** Starts a spin job and waits until its guest is running (it has printed), on the slot returned. */
    async function spinning(runner: JobRunner): Promise<{ outcome: Promise<JobOutcome>; slot: SlotInternals }> {
      const outcome = runner.run(watJob('spin'));
      let slot: SlotInternals | undefined;
      await waitFor(() => {
        slot = slotsOf(runner).find((candidate) => candidate.task && text(readSharedOutput(candidate.lanes[candidate.runningLane]!.stdout)) === 'spinning\n');
        return slot !== undefined;
      }, 'the spin job to be running');
      return { outcome, slot: slot! };
    }

    function expectWorkerStopped(outcome: JobOutcome): void {
      assert.equal(outcome.kind, 'trapped', `the job's outcome: ${outcome.kind}`);
      const trapped = outcome as Extract<JobOutcome, { kind: 'trapped' }>;
      assert.match(trapped.trap, /worker thread stopped unexpectedly/);
      assert.equal(text(trapped.stdout), 'spinning\n', 'what the job printed before its worker died');
    }

    it('ends only its own job: the jobs queued behind it run, and so do later ones', async () => {
      const runner = runnerWith(1);
      const { outcome, slot } = await spinning(runner);
      const queued = Array.from({ length: 6 }, (_, i) => stdoutOf(runner, watJob('uppercase', `queued ${i}`)));
      // Not the time limit (NO_TIME_LIMIT_MS) nor an abort: the worker dies under the job.
      await slot.worker.terminate();

      expectWorkerStopped(await outcome);
      assert.deepEqual(await Promise.all(queued), Array.from({ length: 6 }, (_, i) => `QUEUED ${i}`));
      assert.equal(await stdoutOf(runner, watJob('hello')), 'hello, world\n');
      assert.equal(runner.running, 0);
      assert.equal(slotsOf(runner).length, 1, 'the dead worker was replaced, not added to');
    });

    it('leaves the job running on another worker alone', async () => {
      const runner = runnerWith(2);
      const first = await spinning(runner);
      const second = runner.run(watJob('spin'));
      await waitFor(() => runner.running === 2, 'both spin jobs to be running');
      await first.slot.worker.terminate();

      expectWorkerStopped(await first.outcome);
      // The other spin job is still running; the fresh worker takes new jobs meanwhile.
      assert.equal(runner.running, 1);
      assert.equal(await stdoutOf(runner, watJob('uppercase', 'still here')), 'STILL HERE');
      const other = slotsOf(runner).find((slot) => slot.task);
      assert.ok(other, 'the second spin job still has its worker');
      await other.worker.terminate();
      expectWorkerStopped(await second);
    });

    it('dying while idle fails no job, and the pool keeps its size', async () => {
      const runner = runnerWith(2);
      await stdoutOf(runner, watJob('hello'));
      await slotsOf(runner)[0]!.worker.terminate();
      const outputs = await Promise.all(Array.from({ length: 8 }, (_, i) => stdoutOf(runner, watJob('uppercase', `idle ${i}`))));
      assert.deepEqual(outputs, Array.from({ length: 8 }, (_, i) => `IDLE ${i}`));
      assert.equal(slotsOf(runner).length, 2);
    });
  });

  describe('stdin larger than the shared channel (64 KiB)', () => {
    async function roundTrip(runner: JobRunner, input: Uint8Array, what: string): Promise<void> {
      const outcome = expectExited(await runner.run(jobOf(() => buildWat('uppercase'), 'wat:uppercase', input)));
      assertSameBytes(outcome.stdout, uppercased(input), what);
    }

    it('round-trips 1 MiB byte-exactly and leaves the caller’s bytes intact', async () => {
      const runner = runnerWith(2);
      const input = noise(MiB, 1);
      const before = new Uint8Array(input);
      await roundTrip(runner, input, '1 MiB');
      assertSameBytes(input, before, 'the caller’s stdin after the job');
    });

    it('round-trips the sizes on both sides of the limit', async () => {
      const runner = runnerWith(2);
      for (const size of [64 * KiB - 1, 64 * KiB, 64 * KiB + 1, 0]) {
        await roundTrip(runner, noise(size, size), `${size} bytes`);
      }
    });

    it('round-trips a view into a larger buffer: only the view’s bytes', async () => {
      const runner = runnerWith(1);
      const backing = noise(3 * MiB, 7);
      const view = backing.subarray(MiB + 3, 2 * MiB + 3);
      await roundTrip(runner, view, 'a 1 MiB view at an odd offset');
    });

    it('round-trips 20 different 1 MiB inputs at once, each to its own job', async () => {
      const runner = runnerWith(2);
      const inputs = Array.from({ length: 20 }, (_, i) => noise(MiB, i + 100));
      await Promise.all(inputs.map((input, i) => roundTrip(runner, input, `input ${i}`)));
    });
  });
});

describe('JobRunner: jobs handed ahead to a busy worker', () => {
  const runners: JobRunner[] = [];
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((runner) => runner.close()));
  });

  it('every job gets its own answer, with aborts, time limits and queue waits mixed in', async () => {
    // A short limit: spin jobs end by it, and jobs queued behind them may give up waiting.
    const runner = new JobRunner({ limits: { ...DEFAULT_JOB_LIMITS, timeoutMs: 400 }, workers: 2, maxQueuedJobs: 1000 });
    runners.push(runner);
    await stdoutOf(runner, watJob('uppercase', 'warm'));
    const runs = Array.from({ length: 300 }, async (_, i) => {
      if (i % 50 === 7) return runner.run(watJob('spin')).then((outcome) => ({ i, outcome, error: undefined }), (error: Error) => ({ i, outcome: undefined, error }));
      const controller = new AbortController();
      const cancellation = { cancelled: false, onCancel: undefined as ((reason: unknown) => void) | undefined };
      const job = { ...watJob('uppercase', `job ${i}`, i % 11 === 3 ? controller.signal : undefined), cancellation };
      const pending = runner.run(job);
      // Some are aborted at once (still queued or handed ahead), some a moment later (maybe running).
      if (i % 11 === 3) setImmediate(() => controller.abort(new Error(`abort ${i}`)));
      if (i % 13 === 5) queueMicrotask(() => cancellation.onCancel?.(new Error(`cancel ${i}`)));
      try {
        return { i, outcome: await pending, error: undefined };
      } catch (error) {
        return { i, outcome: undefined, error: error as Error };
      }
    });
    for (const { i, outcome, error } of await Promise.all(runs)) {
      if (i % 50 === 7) {
        assert.ok(outcome?.kind === 'timed-out' || error?.name === 'QueueTimeoutError', `spin job ${i}: ${outcome?.kind ?? error?.message}`);
      } else if (error) {
        const mine = (i % 11 === 3 && error.message === `abort ${i}`) || (i % 13 === 5 && error.message === `cancel ${i}`);
        assert.ok(mine || error.name === 'QueueTimeoutError', `job ${i}: ${error.message}`);
      } else {
        assert.equal(outcome?.kind, 'exited', `job ${i}`);
        assert.equal(text((outcome as Extract<JobOutcome, { kind: 'exited' }>).stdout), `JOB ${i}`, `job ${i} got its own output`);
      }
    }
    assert.equal(runner.running, 0);
    assert.equal(runner.queued, 0);
    assert.equal(await stdoutOf(runner, watJob('uppercase', 'after')), 'AFTER');
  });

  it('a job waiting behind one that runs out of time runs on the fresh worker', async () => {
    const runner = new JobRunner({ limits: { ...DEFAULT_JOB_LIMITS, timeoutMs: 500 }, workers: 1 });
    runners.push(runner);
    await stdoutOf(runner, watJob('uppercase', 'warm'));
    const spin = runner.run(watJob('spin'));
    await waitFor(() => runner.running === 1, 'the spin job to run');
    const behind = stdoutOf(runner, watJob('uppercase', 'behind'));
    assert.equal(runner.queued, 1, 'the second job waits');
    assert.equal((await spin).kind, 'timed-out');
    assert.equal(await behind, 'BEHIND');
  });

  it('a worker that frees up takes a job handed ahead to another still busy', async () => {
    const runner = new JobRunner({ limits: { ...DEFAULT_JOB_LIMITS, timeoutMs: NO_TIME_LIMIT_MS }, workers: 2 });
    runners.push(runner);
    await Promise.all([stdoutOf(runner, watJob('uppercase', 'warm')), stdoutOf(runner, watJob('uppercase', 'warm'))]);
    const controller = new AbortController();
    const spin = runner.run(watJob('spin', '', controller.signal)).catch((error: Error) => error.message);
    const sleep = runner.run(watJob('sleep'));
    await waitFor(() => runner.running === 2, 'both jobs to run');
    // Whichever worker it was handed to, it is answered once the sleeping one is done.
    assert.equal(await stdoutOf(runner, watJob('uppercase', 'not stuck')), 'NOT STUCK');
    assert.equal((await sleep).kind, 'exited');
    assert.equal(runner.running, 1, 'the spin job still runs');
    controller.abort(new Error('done'));
    assert.equal(await spin, 'done');
  });

  it('a job taken back before it started leaves the running job its own answer, and the next one its own', async () => {
    const runner = new JobRunner({ limits: { ...DEFAULT_JOB_LIMITS, timeoutMs: NO_TIME_LIMIT_MS }, workers: 1 });
    runners.push(runner);
    await stdoutOf(runner, watJob('uppercase', 'warm'));
    await runner.run(watJob('sleep'));
    const sleeping = runner.run(watJob('sleep'));
    const controller = new AbortController();
    const withdrawn = runner.run(watJob('uppercase', 'two', controller.signal)).catch((error: Error) => error.message);
    controller.abort(new Error('taken back'));
    assert.equal(await withdrawn, 'taken back');
    // The sleeping job ends on the worker while this thread is busy, before its end is noted here.
    const until = Date.now() + 200;
    while (Date.now() < until) {
      // busy on purpose
    }
    const third = stdoutOf(runner, watJob('uppercase', 'three'));
    const slept = await sleeping;
    assert.equal(slept.kind === 'exited' && text(slept.stdout), 'slept 1 events\n');
    assert.equal(await third, 'THREE');
  });
});
