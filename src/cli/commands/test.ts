import * as path from 'node:path';
import { DEFAULT_JOB_LIMITS, type JobLimits } from '../../agent/runner/types';
import {
  AgentCaseRunner,
  JobNotRunnable,
  LocalCaseRunner,
  discoverJobTests,
  displayPair,
  findManifests,
  runJobTests,
  updateExpectations,
  type CaseResult,
  type CaseRunner,
  type JobTests,
} from '../../jobtests';
import { CLIENT_OPTIONS, clientOptionsHelp, clientFrom, integerOption, parseCommandArgs, type Parsed } from '../args';
import type { Command } from '../command';
import { CliError, UsageError } from '../errors';
import { EXIT } from '../exitCodes';
import { writeFully, type CliIo } from '../io';

const MIB = 1024 * 1024;
/** Lines of expected and actual output shown under a failing case. */
const SHOWN_LINES = 20;

const TEST_OPTIONS = {
  ...CLIENT_OPTIONS,
  local: { type: 'boolean' },
  update: { type: 'boolean' },
  'job-timeout-ms': { type: 'string' },
  'job-memory-mb': { type: 'string' },
  'job-output-bytes': { type: 'string' },
} as const;

type TestValues = Parsed<typeof TEST_OPTIONS>['values'];

export const testCommand: Command = {
  name: 'test',
  summary: "run jobs' tests (tests/NAME.in, NAME.out, … next to manifest.toml) on their current build",
  help: `Usage: serval test [MANIFEST_OR_DIR...] [options]

Runs the test cases of each job: the files tests/NAME.in (stdin, optional), NAME.out (expected
stdout), NAME.err (expected stderr), NAME.exit (expected exit code, default 0), NAME.args (arguments,
one per line) and NAME.env (KEY=VALUE lines) next to its manifest.toml. A folder is searched for
manifest.toml files (default: the current folder). The build on disk (the manifest's \`binary\`) is
tested: nothing is published. Output is compared byte for byte; tests/tests.toml with
\`ignore_trailing_newline = true\` forgives one final line break.

Prints one line per case (PASS or FAIL; the differences of a failing case go to stderr) and
closes with \`N passed, N failed\`. Exits with 0 when every case passed, 1 when one failed.

Options:
  --local               run in this process with the agent's runner and limits, no agent needed
  --job-timeout-ms N    with --local: time limit of one case (default ${DEFAULT_JOB_LIMITS.timeoutMs})
  --job-memory-mb N     with --local: memory limit of one case in MiB (default ${DEFAULT_JOB_LIMITS.memoryBytes / MIB})
  --job-output-bytes N  with --local: output limit of one case (default ${DEFAULT_JOB_LIMITS.outputBytes})
  --update              rewrite the expected files (.out, .err, .exit) from what the job did, and
                        print each file changed; asks nothing
${clientOptionsHelp(24, ';\n                        the build runs there as a scratch version, deleted afterwards')}

Examples:
  serval test --local                       # every job under the current folder
  serval test samples/loudify --agent http://build-box:8100
  serval test --local --update samples/loudify/manifest.toml`,

  async run(args, { io, signal }) {
    const { values, positionals } = parseCommandArgs('test', args, TEST_OPTIONS, Number.MAX_SAFE_INTEGER);
    const runner = runnerFrom(values, io);
    try {
      const targets = (positionals.length > 0 ? positionals : ['.']).map((target) => path.resolve(io.cwd, target));
      const jobs = await discoverAll(targets);
      return await testJobs(jobs, runner, { io, signal, update: values.update === true });
    } catch (error) {
      if (signal.aborted) throw new CliError('interrupted', EXIT.interrupted);
      throw error;
    } finally {
      await runner.close();
    }
  },
};

function runnerFrom(values: TestValues, io: CliIo): CaseRunner {
  const limitOptions = (['job-timeout-ms', 'job-memory-mb', 'job-output-bytes'] as const).filter((option) => values[option] !== undefined);
  if (!values.local) {
    if (limitOptions.length > 0) throw new UsageError(`--${limitOptions[0]} needs --local (an agent applies its own limits)`, 'test');
    return new AgentCaseRunner(clientFrom(values, io));
  }
  if (values.agent !== undefined) throw new UsageError('--local and --agent exclude each other: pick one', 'test');
  return new LocalCaseRunner(localLimits(values));
}

function localLimits(values: TestValues): JobLimits {
  const number = (option: 'job-timeout-ms' | 'job-memory-mb' | 'job-output-bytes', min: number, max: number) =>
    integerOption(values[option], option, min, max, 'test');
  const memoryMb = number('job-memory-mb', 1, 4096);
  return {
    timeoutMs: number('job-timeout-ms', 1, 24 * 3600 * 1000) ?? DEFAULT_JOB_LIMITS.timeoutMs,
    memoryBytes: memoryMb === undefined ? DEFAULT_JOB_LIMITS.memoryBytes : memoryMb * MIB,
    outputBytes: number('job-output-bytes', 1, 2 ** 32) ?? DEFAULT_JOB_LIMITS.outputBytes,
  };
}

async function discoverAll(targets: string[]): Promise<JobTests[]> {
  const manifests = await findManifests(targets);
  if (manifests.length === 0) {
    throw new CliError(`no manifest.toml in ${targets.join(', ')}: name a manifest or a folder that holds one`, EXIT.notFound);
  }
  return Promise.all(manifests.map((manifest) => discoverJobTests(manifest)));
}

interface TestRun {
  io: CliIo;
  signal: AbortSignal;
  update: boolean;
}

async function testJobs(jobs: JobTests[], runner: CaseRunner, run: TestRun): Promise<number> {
  const withCases = jobs.filter((job) => job.cases.length > 0);
  if (withCases.length === 0) {
    const where = jobs.map((job) => path.relative(run.io.cwd, job.manifestPath) || job.manifestPath).join(', ');
    throw new CliError(`no test cases next to ${where}: add tests/NAME.in and tests/NAME.out beside a manifest.toml`, EXIT.notFound);
  }
  let passed = 0;
  let failed = 0;
  let jobFailure = false;
  for (const job of withCases) {
    const label = jobLabel(job, run.io.cwd);
    try {
      await runJobTests(job, runner, {
        signal: run.signal,
        onResult: async (result) => {
          if (await report(job, label, result, run)) passed++;
          else failed++;
        },
      });
    } catch (error) {
      if (!(error instanceof JobNotRunnable)) throw error;
      jobFailure = true;
      failed += job.cases.length;
      for (const testCase of job.cases) await writeFully(run.io.stdout, `FAIL ${label}/${testCase.name}: not run\n`);
      await writeFully(run.io.stderr, `serval: ${error.message}\n`);
    }
  }
  await writeFully(run.io.stdout, `${passed} passed, ${failed} failed\n`);
  if (jobFailure) return EXIT.invalidManifest;
  return failed > 0 ? EXIT.failure : EXIT.ok;
}

/** `sh.serval.loudify`, or the manifest's folder when the manifest is invalid. */
function jobLabel(job: JobTests, cwd: string): string {
  return job.jobName ?? (path.relative(cwd, path.dirname(job.manifestPath)) || '.');
}

/** Prints the case's line (and its differences on stderr); with --update rewrites its files. Resolves to whether it counts as passed. */
async function report(job: JobTests, label: string, result: CaseResult, run: TestRun): Promise<boolean> {
  const { verdict, testCase } = result;
  const name = `${label}/${testCase.name}`;
  const duration = `(${Math.round(verdict.durationMs)} ms)`;
  // A passing case may still lack a file (NAME.in alone checks only the exit code): --update adds it.
  const written = run.update && verdict.problems.length === 0 ? await updateExpectations(result, job.testsDir, job.config) : [];
  if (written.length > 0) {
    const files = written.map((file) => path.relative(run.io.cwd, file) || file).join(', ');
    await writeFully(run.io.stdout, `UPDATED ${name} ${duration}: wrote ${files}\n`);
    return true;
  }
  if (verdict.passed) {
    await writeFully(run.io.stdout, `PASS ${name} ${duration}\n`);
    return true;
  }
  const reasons = [...verdict.problems, ...verdict.mismatches.map((mismatch) => mismatch.message)];
  await writeFully(run.io.stdout, `FAIL ${name} ${duration}: ${reasons[0] ?? 'failed'}\n`);
  await writeFully(run.io.stderr, failureDetails(name, result));
  return false;
}

/** Every reason, then expected and actual output of each differing stream, a few lines each. */
function failureDetails(name: string, { verdict }: CaseResult): string {
  const lines = [`--- ${name}`];
  for (const problem of verdict.problems) lines.push(`  ${problem}`);
  for (const mismatch of verdict.mismatches) {
    lines.push(`  ${mismatch.message}`);
    if (typeof mismatch.expected === 'number' || typeof mismatch.actual === 'number') continue;
    const shown = displayPair(mismatch.expected, mismatch.actual);
    lines.push(`  expected (${mismatch.file}):`, ...excerpt(shown.expected, '    - '), `  actual ${mismatch.stream}:`, ...excerpt(shown.actual, '    + '));
  }
  return `${lines.join('\n')}\n`;
}

function excerpt(text: string, prefix: string): string[] {
  const lines = text.split('\n');
  const endsWithBreak = lines[lines.length - 1] === '';
  if (endsWithBreak) lines.pop();
  const shown = lines.slice(0, SHOWN_LINES).map((line) => prefix + line);
  if (lines.length > SHOWN_LINES) shown.push(`${prefix}… ${lines.length - SHOWN_LINES} more lines`);
  else if (lines.length === 0) shown.push(`${prefix}(empty)`);
  else if (!endsWithBreak) shown.push(`${prefix}\\ no line break at the end`);
  return shown;
}
