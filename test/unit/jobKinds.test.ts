/**
 * One suite that every job kind passes: a WASI preview1 module and a WASI 0.2 component of the
 * same C program run through the same JobRunner, with the same limits and outcomes.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { JobRunner } from '../../src/agent/runner/pool';
import type { JobOutcome } from '../../src/agent/runner/types';
import { COMPONENT_FIXTURES, componentFixture, loudify } from '../helpers/components';
import { jobOf, text, WASI_PROGRAMS } from '../helpers/runnerJobs';
import { buildWat } from '../helpers/wat';

const LIMITS = { timeoutMs: 2_000, memoryBytes: 16 * 1024 * 1024, outputBytes: 64 * 1024 };

type Kind = 'module' | 'component';
const KINDS: Kind[] = ['module', 'component'];

/** The C programs the suite runs, as each kind (components are made from these very modules). */
const PROGRAMS: Record<string, Record<Kind, () => Promise<Uint8Array>>> = {
  loudify: { module: () => loudify('module'), component: () => loudify('component') },
  probe: {
    module: () => fs.readFile(path.join(WASI_PROGRAMS, 'probe.wasm')),
    component: () => componentFixture('probe'),
  },
  spin: { module: () => fs.readFile(path.join(COMPONENT_FIXTURES, 'spin.wasm')), component: () => componentFixture('spin') },
  flood: { module: () => fs.readFile(path.join(COMPONENT_FIXTURES, 'flood.wasm')), component: () => componentFixture('flood') },
  'not a command': { module: () => buildWat('no-start'), component: () => componentFixture('library') },
};

function exited(outcome: JobOutcome): Extract<JobOutcome, { kind: 'exited' }> {
  assert.equal(outcome.kind, 'exited', JSON.stringify({ ...outcome, stdout: undefined, stderr: undefined }));
  return outcome as Extract<JobOutcome, { kind: 'exited' }>;
}

describe('job kinds: modules and components pass the same suite', () => {
  let runner: JobRunner;
  const run = (program: string, kind: Kind, stdin = ''): Promise<JobOutcome> =>
    runner.run(jobOf(PROGRAMS[program]![kind], `${program}:${kind}`, stdin));

  before(() => {
    runner = new JobRunner({ limits: LIMITS, workers: 2 });
  });
  after(async () => {
    await runner.close();
  });

  for (const kind of KINDS) {
    describe(kind, () => {
      it('runs a C program: stdin in, stdout out, exit code 0', async () => {
        const outcome = exited(await run('loudify', kind, 'hello, world\n'));
        assert.equal(text(outcome.stdout), 'HELLO, WORLD\n');
        assert.equal(outcome.exitCode, 0);
      });

      it('gives the job clocks, sleep, randomness, stderr, and nothing of the host (no env, no files)', async () => {
        const outcome = exited(await run('probe', kind, 'echo me'));
        const lines = text(outcome.stdout).split('\n');
        for (const line of ['HOME=(unset)', 'fopen=failed', 'slept 5 ms=yes', 'time after 2024=yes', 'random=yes', 'isatty(1)=0']) {
          assert.ok(lines.includes(line), `${line} in ${text(outcome.stdout)}`);
        }
        assert.ok(text(outcome.stdout).endsWith('echo me'));
        assert.equal(text(outcome.stderr), 'to stderr\n');
      });

      it('reports a non-zero exit as failed and a trap with what was written before', async () => {
        assert.notEqual(exited(await run('probe', kind, 'exit')).exitCode, 0);
        const trapped = await run('probe', kind, 'abort');
        assert.equal(trapped.kind, 'trapped');
        if (trapped.kind === 'trapped') {
          assert.match(trapped.trap, /unreachable/);
          assert.equal(text(trapped.stderr), 'to stderr\n');
        }
      });

      it('caps memory at the limit: malloc returns NULL inside the job', async () => {
        const outcome = exited(await run('probe', kind, 'oom!'));
        const mib = Number(/after (\d+) MiB/.exec(text(outcome.stdout))?.[1]);
        assert.ok(mib >= 1 && mib < 16, text(outcome.stdout));
      });

      it('stops a spinning job at the time limit, and the pool runs the next job', async () => {
        const outcome = await run('spin', kind);
        assert.equal(outcome.kind, 'timed-out');
        assert.equal(text(exited(await run('loudify', kind, 'after')).stdout), 'AFTER');
      });

      it('stops a flooding job at the output limit, keeping what fits', async () => {
        const outcome = exited(await run('flood', kind));
        assert.equal(outcome.outputLimited, true);
        assert.equal(outcome.stdout.length, LIMITS.outputBytes);
        assert.ok(text(outcome.stdout).startsWith('flood flood'));
      });

      it('explains why something that is not a command cannot run', async () => {
        const outcome = await run('not a command', kind);
        assert.equal(outcome.kind, 'not-runnable');
        if (outcome.kind === 'not-runnable') assert.match(outcome.message, /not a (WASI |wasi:cli\/)command/);
      });

      it('prepares an executable once per content, however often it runs', async () => {
        const job = (): ReturnType<typeof jobOf> => jobOf(PROGRAMS.loudify![kind], `once:${kind}`, 'x');
        const first = job();
        await runner.run(first);
        const second = job();
        await runner.run(second);
        assert.equal(first.loads.count + second.loads.count, 1);
      });
    });
  }

  it('gives the same output for the same input, whichever the kind', async () => {
    const input = 'The same program, two kinds.\n'.repeat(100);
    const [module, component] = await Promise.all(KINDS.map(async (kind) => exited(await run('loudify', kind, input))));
    assert.deepEqual(component!.stdout, module!.stdout);
    const probes = await Promise.all(KINDS.map(async (kind) => text(exited(await run('probe', kind, 'same')).stdout)));
    assert.equal(probes[1], probes[0]);
  });
});
