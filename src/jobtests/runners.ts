/**
 * Where cases run. Both run the workspace's build as it is on disk, and publish nothing:
 * - LocalCaseRunner: the agent's own JobRunner (worker threads, same WASI host and limits), in this
 *   process. It sees stdout and stderr both, whatever the exit code.
 * - AgentCaseRunner: an agent over HTTP. The build goes up as a scratch version (never the default:
 *   it has no manifest of its own, so it is never complete) and is deleted afterwards, with the
 *   manifest too when the agent did not have the job before. It sees stdout on exit 0, else stderr.
 */
import { randomBytes } from 'node:crypto';
import type { AgentClient } from '../client/client';
import { sriOf } from '../client/integrity';
import type { RunResult } from '../client/types';
import { JobRunner } from '../agent/runner/pool';
import type { JobLimits } from '../agent/runner/types';
import { runArgv, type RunDefaults } from '../agent/routes/runInputs';
import { imageOf } from '../agent/files/filesImages';
import { type TarEntry, writeTar } from '../files/tar';
import type { CaseOutcome, LoadedCase } from './types';

/** The job's build, read from disk for this run. */
export interface JobBuild {
  jobName: string;
  manifestText: string;
  wasm: Uint8Array;
  /** The manifest's `args` and `[env]`, which a case's .args and .env override as on an agent. */
  defaults: RunDefaults;
  /** The manifest's `files` folder as read from disk for this run: the job sees it as `/`. */
  files?: readonly TarEntry[];
}

/** Runs the cases of one build; `close` undoes whatever opening it did. */
export interface BuildSession {
  run(input: LoadedCase, signal?: AbortSignal): Promise<CaseOutcome>;
  close(): Promise<void>;
}

export interface CaseRunner {
  /** Human words for where the cases run, e.g. "the local runner" or "the agent at URL". */
  readonly label: string;
  open(build: JobBuild, signal?: AbortSignal): Promise<BuildSession>;
  close(): Promise<void>;
}

function envEntries(env: Readonly<Record<string, string>> | undefined): string[] {
  return Object.entries(env ?? {}).map(([key, value]) => `${key}=${value}`);
}

export class LocalCaseRunner implements CaseRunner {
  readonly label = 'the local runner';
  private readonly runner: JobRunner;

  /**
   * `onThisThread`: quick jobs may run on this thread (runner/mainThread.ts); the extension host
   * says no, so that no job code ever runs on the thread every extension shares.
   */
  constructor(limits: JobLimits, workers?: number, onThisThread = true) {
    this.runner = new JobRunner({ limits, workers, mainThreadRuns: onThisThread });
  }

  open(build: JobBuild): Promise<BuildSession> {
    const key = sriOf(build.wasm);
    const runner = this.runner;
    // One image for all the cases: each run gets its own writable copy of the tree, as on an agent.
    const files = build.files && imageOf(build.files);
    return Promise.resolve({
      async run(input, signal) {
        // argv[0] is the job's name, and a case's .args/.env go over the manifest's, as on an agent.
        // An empty .args keeps the manifest's, as on an agent (a query without ?arg= does).
        const given = input.args?.length ? input.args : undefined;
        const { args, env } = runArgv(build.jobName, { args: given, env: envEntries(input.env) }, build.defaults);
        const outcome = await runner.run({ key, loadBytes: () => Promise.resolve(build.wasm), stdin: input.stdin, args, env, files, signal });
        if (outcome.kind === 'not-runnable') return { kind: 'not-run', message: `not a runnable WASI command: ${outcome.message}`, durationMs: outcome.durationMs };
        return outcome;
      },
      close: () => Promise.resolve(),
    });
  }

  close(): Promise<void> {
    return this.runner.close();
  }
}

export class AgentCaseRunner implements CaseRunner {
  readonly label: string;

  constructor(private readonly client: AgentClient) {
    this.label = `the agent at ${client.url}`;
  }

  async open(build: JobBuild, signal?: AbortSignal): Promise<BuildSession> {
    const { client } = this;
    const name = build.jobName;
    const hadJob = await client.hasManifest(name, { signal });
    if (!hadJob) await client.storeManifest(build.manifestText, { signal });
    const version = `serval-test-${randomBytes(6).toString('hex')}`;
    const removeScratch = async () => {
      if (hadJob) await client.deleteExecutable(name, version).catch(() => undefined);
      else await client.deleteManifest(name).catch(() => undefined);
    };
    try {
      await client.putExecutable(name, version, build.wasm, { signal });
      // Deleting the scratch version deletes its files with it.
      if (build.files) await client.putFiles(name, version, writeTar(build.files), { signal });
    } catch (error) {
      await removeScratch();
      throw error;
    }
    return {
      async run(input, runSignal) {
        // The scratch version has no manifest of its own on the agent: send the manifest's defaults with the case's over them.
        const args = input.args?.length ? input.args : build.defaults.args;
        const env = { ...build.defaults.env, ...input.env };
        const startedAt = performance.now();
        const result = await client.run(name, input.stdin, { version, signal: runSignal, args, env });
        return outcomeOfRun(result, performance.now() - startedAt);
      },
      close: removeScratch,
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** An agent's answer as a case outcome: stdout when the exit code is 0, stderr otherwise (the wire gives one). */
export function outcomeOfRun(result: RunResult, measuredMs: number): CaseOutcome {
  const durationMs = result.durationMs ?? measuredMs;
  if (result.limit === 'time') {
    const limitMs = Number(/(\d+)\s*ms/.exec(new TextDecoder().decode(result.output))?.[1] ?? 0);
    return { kind: 'timed-out', limitMs, durationMs };
  }
  if (result.trap !== undefined || result.exitCode === undefined) {
    return { kind: 'trapped', trap: result.trap ?? 'unknown', stderr: withoutLastLine(result.output), durationMs };
  }
  const outputLimited = result.limit === 'output';
  return result.exitCode === 0
    ? { kind: 'exited', exitCode: 0, stdout: result.output, outputLimited, durationMs }
    : { kind: 'exited', exitCode: result.exitCode, stderr: result.output, outputLimited, durationMs };
}

/** A trapped job's body is its stderr, then one line naming the trap. */
function withoutLastLine(bytes: Uint8Array): Uint8Array {
  const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0a ? bytes.length - 1 : bytes.length;
  const lastBreak = bytes.lastIndexOf(0x0a, end - 1);
  return bytes.subarray(0, lastBreak + 1);
}
