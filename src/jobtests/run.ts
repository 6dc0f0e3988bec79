/** Running the cases of one job: read the build, open a session on the runner, judge each case. */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { FilesFolderError, readFilesFolder } from '../files/folder';
import type { TarEntry } from '../files/tar';
import { judge } from './compare';
import { CaseFileError, loadCase } from './discover';
import type { CaseRunner } from './runners';
import type { CaseOutcome, JobTests, LoadedCase, TestCase, Verdict } from './types';

const NO_DEFAULTS = { args: [], env: {} };

export interface CaseResult {
  testCase: TestCase;
  verdict: Verdict;
  /** The case's files as read (absent when one of them was malformed). */
  loaded?: LoadedCase;
}

export interface RunJobOptions {
  /** The cases to run (default: all of the job's). */
  cases?: readonly TestCase[];
  signal?: AbortSignal;
  /** Called as each case starts and ends, in the order of `cases`. */
  onStart?(testCase: TestCase): void;
  /** Awaited before the next case starts. */
  onResult?(result: CaseResult): void | Promise<void>;
}

/** Why none of a job's cases can run (invalid manifest, missing build); undefined when they can. */
export class JobNotRunnable extends Error {}

/**
 * Runs the job's cases against its current build, one after the other (a case's duration is its
 * own). Throws JobNotRunnable when the job cannot run at all, and the runner's errors (agent
 * unreachable, refused) as they are.
 */
export async function runJobTests(job: JobTests, runner: CaseRunner, options: RunJobOptions = {}): Promise<CaseResult[]> {
  if (job.problem || !job.jobName || !job.binaryPath) throw new JobNotRunnable(`${job.manifestPath}: ${job.problem ?? 'the manifest is invalid'}`);
  const wasm = await readBuild(job.manifestPath, job.binaryPath);
  const manifestText = await readFile(job.manifestPath, 'utf8');
  const files = await readJobFiles(job);
  const session = await runner.open({ jobName: job.jobName, manifestText, wasm, defaults: job.defaults ?? NO_DEFAULTS, files }, options.signal);
  const results: CaseResult[] = [];
  try {
    for (const testCase of options.cases ?? job.cases) {
      options.signal?.throwIfAborted();
      options.onStart?.(testCase);
      const result = await runOneCase(job, testCase, (input) => session.run(input, options.signal));
      results.push(result);
      await options.onResult?.(result);
    }
  } finally {
    await session.close();
  }
  return results;
}

async function runOneCase(job: JobTests, testCase: TestCase, run: (input: LoadedCase) => Promise<CaseOutcome>): Promise<CaseResult> {
  let loaded: LoadedCase;
  try {
    loaded = await loadCase(testCase);
  } catch (error) {
    if (!(error instanceof CaseFileError)) throw error;
    return { testCase, verdict: { passed: false, problems: [error.message], mismatches: [], durationMs: 0 } };
  }
  const outcome = await run(loaded);
  return { testCase, loaded, verdict: judge(loaded, outcome, job.config, testCase.name) };
}

/** The job's `files` folder as it is on disk now (undefined when the manifest names none). */
export async function readJobFiles(job: JobTests): Promise<TarEntry[] | undefined> {
  if (!job.filesDir) return undefined;
  try {
    return (await readFilesFolder(job.filesDir)).entries;
  } catch (error) {
    if (!(error instanceof FilesFolderError)) throw error;
    const relative = path.relative(path.dirname(job.manifestPath), job.filesDir);
    throw new JobNotRunnable(`${job.manifestPath}: its files folder "${relative}" ${error.message}`);
  }
}

async function readBuild(manifestPath: string, binaryPath: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(binaryPath));
  } catch (error) {
    const relative = path.relative(path.dirname(manifestPath), binaryPath);
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
    throw new JobNotRunnable(`${manifestPath}: its binary "${relative}" ${reason}: build it first`);
  }
}
