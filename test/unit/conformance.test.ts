/**
 * Jobs built by real toolchains (test/fixtures/toolchains) run through the JobRunner as they would
 * under a real WASI runtime: stdin read to its end, stdout and stderr kept apart and whole, exit
 * codes, traps with their stderr, no arguments, no environment, no files, clocks, sleeps,
 * randomness, and allocations that fail at the memory limit instead of crashing anything.
 */
import * as assert from 'node:assert/strict';
import { JobRunner } from '../../src/agent/runner/pool';
import { DEFAULT_JOB_LIMITS, type JobOutcome } from '../../src/agent/runner/types';
import { jobOf, text } from '../helpers/runnerJobs';
import {
  alphabetBytes,
  commandInput,
  fnv1a,
  linesText,
  panicEnd,
  pseudoRandomBytes,
  supports,
  type Toolchain,
  TOOLCHAINS,
  toolchainWasm,
} from './conformanceJobs';

const MiB = 1024 * 1024;
/** Small enough that every job's allocator reaches it quickly. */
const MEMORY_LIMIT = 32 * MiB;

type Exited = Extract<JobOutcome, { kind: 'exited' }>;
type Trapped = Extract<JobOutcome, { kind: 'trapped' }>;

function describeOutcome(outcome: JobOutcome): string {
  if (outcome.kind === 'not-runnable') return `not runnable: ${outcome.message}`;
  if (outcome.kind === 'trapped') return `trapped (${outcome.trap}), stderr ${JSON.stringify(text(outcome.stderr))}`;
  if (outcome.kind === 'exited') return `exited ${outcome.exitCode}, stderr ${JSON.stringify(text(outcome.stderr).slice(0, 500))}`;
  return outcome.kind;
}

function exited(outcome: JobOutcome, exitCode = 0): Exited {
  assert.ok(outcome.kind === 'exited' && outcome.exitCode === exitCode, `expected exit ${exitCode}, got ${describeOutcome(outcome)}`);
  return outcome;
}

function trapped(outcome: JobOutcome): Trapped {
  assert.ok(outcome.kind === 'trapped', `expected a trap, got ${describeOutcome(outcome)}`);
  return outcome;
}

describe('conformance: jobs built by real toolchains, through the JobRunner', function () {
  this.timeout(60_000);
  let runner: JobRunner;
  before(() => {
    runner = new JobRunner({ limits: { ...DEFAULT_JOB_LIMITS, memoryBytes: MEMORY_LIMIT, timeoutMs: 20_000 }, workers: 2 });
  });
  after(() => runner.close());

  for (const toolchain of TOOLCHAINS) {
    describe(toolchain, () => {
      const run = (stdin: string | Uint8Array): Promise<JobOutcome> =>
        runner.run(jobOf(() => toolchainWasm(toolchain), `conformance:${toolchain}`, stdin));
      const stdoutOf = async (stdin: string | Uint8Array): Promise<string> => text(exited(await run(stdin)).stdout);

      it('reads an empty stdin to its end', async () => {
        assert.equal(await stdoutOf(''), 'bytes=0 fnv=811c9dc5\n');
      });

      it('reads a 5 MB stdin whole, byte for byte', async () => {
        const payload = pseudoRandomBytes(5 * MiB);
        assert.equal(await stdoutOf(commandInput('count', payload)), `bytes=${payload.length} fnv=${fnv1a(payload)}\n`);
      });

      it('writes a 5 MB stdin back unchanged', async () => {
        const payload = pseudoRandomBytes(5 * MiB, 7);
        const outcome = exited(await run(commandInput('cat', payload)));
        assert.equal(outcome.stdout.length, payload.length);
        assert.ok(Buffer.from(outcome.stdout).equals(payload), 'stdout differs from stdin');
      });

      it('keeps every one of many small writes, in order', async () => {
        assert.equal(await stdoutOf('lines 3000'), linesText(3000));
      });

      it('keeps one large write whole', async () => {
        const outcome = exited(await run('big 3000000'));
        assert.ok(Buffer.from(outcome.stdout).equals(alphabetBytes(3_000_000)), 'stdout is not the 3 MB written');
      });

      it('keeps stdout and stderr apart', async () => {
        const outcome = exited(await run('stderr'));
        assert.deepEqual([text(outcome.stdout), text(outcome.stderr)], ['to stdout\n', 'to stderr\n']);
      });

      for (const code of [0, 1, 42]) {
        it(`exits with ${code} through exit(), keeping what it printed`, async () => {
          const outcome = exited(await run(`exit ${code}`), code);
          assert.deepEqual([text(outcome.stdout), text(outcome.stderr)], ['partial output\n', `exiting with ${code}\n`]);
        });

        it(`exits with ${code} by returning from main`, async () => {
          assert.equal(text(exited(await run(`return ${code}`), code).stderr), `returning ${code}\n`);
        });
      }

      it('panics or aborts as its toolchain does, keeping stdout and stderr', async () => {
        const outcome = await run('panic');
        const expected = panicEnd(toolchain);
        const ended = expected.kind === 'trapped' ? trapped(outcome) : exited(outcome, expected.exitCode);
        assert.equal(text(ended.stdout), 'before the crash\n');
        assert.match(text(ended.stderr), expected.stderr);
        if (ended.kind === 'trapped') assert.equal(ended.trap, 'unreachable');
      });

      it('sees no arguments and no environment', async () => {
        assert.equal(await stdoutOf('env'), 'args=0 env=0\n');
      });

      it('reads the real-time and monotonic clocks and sleeps', async () => {
        assert.equal(await stdoutOf('clock'), 'realtime after 2020: yes\nslept at least 20 ms: yes\ntime(): yes\n');
      });

      if (supports(toolchain, 'random')) {
        it('gets random bytes', async () => {
          assert.equal(await stdoutOf('random'), 'random differs: yes\n');
        });
      }

      if (supports(toolchain, 'file')) {
        it('fails cleanly to open or create a file (no directories are given)', async () => {
          assert.equal(
            await stdoutOf('file'),
            'open /etc/passwd: failed\nopen data.txt: failed\nopen out.txt: failed\nfopen /tmp/x: failed\n',
          );
        });
      }

      if (supports(toolchain, 'stdio')) {
        it('sees stdio as non-terminal streams that cannot seek', async () => {
          assert.equal(await stdoutOf('stdio'), 'isatty: 0 0 0\nfstat stdout: ok\nlseek stdin: ESPIPE\nfcntl F_GETFL stdout: ok\nfcntl F_SETFL stdout: EBADF\n');
        });
      }

      it('says so on stderr and exits 2 for an unknown command', async () => {
        assert.equal(text(exited(await run('fly'), 2).stderr), 'unknown command: fly\n');
      });

      it('sees its allocations fail at the memory limit', async () => {
        await expectAllocationsRefused(toolchain, await run('oom'));
      });

      it('still runs normally after the memory ran out', async () => {
        await run('oom');
        assert.equal(await stdoutOf('count\nabc'), 'bytes=3 fnv=1a47e90b\n');
      });
    });
  }

  async function expectAllocationsRefused(toolchain: Toolchain, outcome: JobOutcome): Promise<void> {
    if (toolchain === 'assemblyscript') {
      // AssemblyScript's allocator executes `unreachable` when memory.grow fails.
      assert.equal(trapped(outcome).trap, 'unreachable');
      return;
    }
    const match = /^allocated (\d+) MiB, then malloc failed\n$/.exec(text(exited(outcome).stdout));
    assert.ok(match, `unexpected stdout ${JSON.stringify(text(exited(outcome).stdout))}`);
    const mib = Number(match[1]);
    // Emscripten's memory is a fixed 24 MiB (no growth in a WASI build); the others grow to the limit.
    const ceiling = toolchain === 'emscripten' ? 24 : MEMORY_LIMIT / MiB;
    assert.ok(mib >= 4 && mib < ceiling, `allocated ${mib} MiB with a ${ceiling} MiB ceiling`);
  }

  describe('rust with crates (serde, serde_json)', () => {
    const run = (stdin: string): Promise<JobOutcome> => runner.run(jobOf(() => toolchainWasm('rust-crates'), 'conformance:rust-crates', stdin));
    const order = (extra: object = {}): string =>
      JSON.stringify({
        customer: 'Ada',
        items: [
          { name: 'tea', price_cents: 350, quantity: 2 },
          { name: 'cake', price_cents: 425, quantity: 1 },
        ],
        ...extra,
      });

    it('answers JSON for JSON', async () => {
      assert.deepEqual(JSON.parse(text(exited(await run(order())).stdout)), {
        customer: 'Ada',
        items: 2,
        total_cents: 1125,
        most_expensive: 'cake',
      });
    });

    it("exits 1 with serde's message for bad input, and for empty input", async () => {
      assert.equal(
        text(exited(await run('{"customer": 1}'), 1).stderr),
        'bad order: invalid type: integer `1`, expected a string at line 1 column 14\n',
      );
      assert.equal(text(exited(await run(''), 1).stderr), 'bad order: EOF while parsing a value at line 1 column 0\n');
    });

    it('exits with the code it chose, after its output', async () => {
      const outcome = exited(await run(order({ exit: 42 })), 42);
      assert.equal(JSON.parse(text(outcome.stdout)).total_cents, 1125);
    });

    it('traps on a panic, with the panic message on stderr', async () => {
      const outcome = trapped(await run(order({ panic: true })));
      assert.match(text(outcome.stderr), /^thread 'main' panicked at 'the order asked for a panic', src\/main\.rs:\d+:\d+\n/);
    });
  });
});
