/**
 * Quick jobs run on the runner's own thread from a fuel-metered copy of their module
 * (runner/mainThread.ts); whatever does not simply exit there is given back and runs in a worker,
 * from scratch. What a caller sees must be the same either way: the same output, the same limits.
 */
import * as assert from 'node:assert/strict';
import { JobRunner } from '../../src/agent/runner/pool';
import { DEFAULT_JOB_LIMITS, type JobLimits, type JobOutcome } from '../../src/agent/runner/types';
import { text, watJob } from '../helpers/runnerJobs';

const LIMITS: JobLimits = { ...DEFAULT_JOB_LIMITS, timeoutMs: 400, outputBytes: 1024 * 1024 };
/** Worker runs a module may need before it runs here: a quick streak, then the metered compile. */
const WARM_UP_RUNS = 1000;

describe('quick jobs on the runner thread', function () {
  this.timeout(30_000);
  let runner: JobRunner;
  beforeEach(() => {
    runner = new JobRunner({ limits: LIMITS, workers: 1 });
  });
  afterEach(() => runner.close());

  const run = (input: string): Promise<JobOutcome> => runner.run(watJob('moody', input));

  /**
   * Runs the quick input until the runner answers one from its own thread. (A run there that a busy
   * machine made slow sends the module back to proving itself: so each test warms up anew.)
   */
  async function warmUp(): Promise<void> {
    const before = runner.mainThreadRuns;
    for (let i = 0; i < WARM_UP_RUNS && runner.mainThreadRuns === before; i++) {
      const outcome = await run('q');
      assert.ok(outcome.kind === 'exited' && text(outcome.stdout) === 'quick\n');
      if (i % 8 === 7) await new Promise((resolve) => setImmediate(resolve)); // the metered copy compiles
    }
    assert.ok(runner.mainThreadRuns > before, `no run on the runner thread after ${WARM_UP_RUNS} quick runs`);
  }

  /** The outcome of `input` run on the runner's thread (warmed up again if a slow run sent it back). */
  async function runHere(input: string): Promise<JobOutcome> {
    for (let attempt = 1; ; attempt++) {
      await warmUp();
      const before = runner.mainThreadRuns;
      const outcome = await run(input);
      if (runner.mainThreadRuns > before) return outcome;
      assert.ok(attempt < 5, `"${input}" never ran on the runner thread`);
    }
  }

  it('answers a module that proved quick from its own thread, with the same output', async () => {
    await warmUp();
    const before = runner.mainThreadRuns;
    for (let i = 0; i < 20; i++) {
      const outcome = await run('q');
      assert.ok(outcome.kind === 'exited' && outcome.exitCode === 0);
      assert.equal(text(outcome.stdout), 'quick\n');
    }
    assert.ok(runner.mainThreadRuns > before, 'the runs after the warm-up ran on the runner thread');
  });

  for (const [what, input] of [
    ['a loop that never ends', 's'],
    ['recursion without a loop (fib 40)', 'f'],
  ] as const) {
    it(`gives ${what} back to a worker, which times it out at the job's limit`, async () => {
      await warmUp();
      const outcome = await run(input);
      assert.equal(outcome.kind, 'timed-out');
      assert.ok(outcome.kind === 'timed-out' && outcome.limitMs === LIMITS.timeoutMs);
      const after = await run('q');
      assert.ok(after.kind === 'exited' && text(after.stdout) === 'quick\n', 'the runner goes on');
    });
  }

  it('gives a sleep back: the job sleeps in a worker and ends as it would have there', async () => {
    await warmUp();
    const before = runner.mainThreadRuns;
    const startedAt = performance.now();
    const outcome = await run('z');
    assert.ok(outcome.kind === 'exited', outcome.kind);
    assert.equal(text(outcome.stdout), 'slept\n');
    assert.ok(performance.now() - startedAt >= 29, 'it slept');
    assert.equal(runner.mainThreadRuns, before, 'answered by the worker');
  });

  it('gives a trap back: the worker reports the same trap', async () => {
    await warmUp();
    const outcome = await run('t');
    assert.ok(outcome.kind === 'trapped', outcome.kind);
    assert.match(outcome.trap, /unreachable/);
  });

  it('keeps the output limit', async () => {
    await runner.close();
    runner = new JobRunner({ limits: { ...LIMITS, outputBytes: 1000 }, workers: 1 });
    const outcome = await runHere('o');
    assert.ok(outcome.kind === 'exited' && outcome.outputLimited, 'stopped at the limit');
    assert.equal(outcome.stdout.byteLength, 1000);
  });

  it('gives back a job that writes more than a run here may (1 MiB): the worker answers all of it', async () => {
    await runner.close();
    runner = new JobRunner({ limits: { ...LIMITS, outputBytes: 4 * 1024 * 1024 }, workers: 1 });
    await warmUp();
    const before = runner.mainThreadRuns;
    const outcome = await run('O');
    assert.ok(outcome.kind === 'exited' && !outcome.outputLimited);
    assert.equal(outcome.stdout.byteLength, 2 * 1024 * 1024);
    assert.equal(runner.mainThreadRuns, before);
  });

  it('gives back a job that asks for many random bytes at once', async () => {
    await warmUp();
    const before = runner.mainThreadRuns;
    const outcome = await run('r');
    assert.ok(outcome.kind === 'exited' && text(outcome.stdout) === 'random\n');
    assert.equal(runner.mainThreadRuns, before);
  });

  it('counts a bulk fill by fuel: one too large for a run here is given back, then the next runs go to the worker', async () => {
    await warmUp();
    const before = runner.mainThreadRuns;
    const outcome = await run('F');
    assert.ok(outcome.kind === 'exited' && text(outcome.stdout) === 'filled\n');
    assert.equal(runner.mainThreadRuns, before, 'answered by the worker');
    for (let i = 0; i < 4; i++) await run('q');
    assert.equal(runner.mainThreadRuns, before, 'it has to prove itself quick again');
  });

  it('must prove itself quick again, for longer, after a run it gave back', async () => {
    await warmUp();
    assert.equal((await run('t')).kind, 'trapped');
    const before = runner.mainThreadRuns;
    for (let i = 0; i < 4; i++) await run('q');
    assert.equal(runner.mainThreadRuns, before, 'the next few runs go to the worker');
  });

  it('never runs a job here whose time limit leaves no room to give it back', async () => {
    await runner.close();
    runner = new JobRunner({ limits: { ...LIMITS, timeoutMs: 50 }, workers: 1 });
    for (let i = 0; i < 50; i++) await run('q');
    assert.equal(runner.mainThreadRuns, 0);
  });
});
