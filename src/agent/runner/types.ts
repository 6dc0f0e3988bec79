import type { ExtensionChoice } from './extensions';
import type { FsImage } from './memfs';

/** Limits of one job. Hitting one ends that job only. */
export interface JobLimits {
  timeoutMs: number;
  memoryBytes: number;
  outputBytes: number;
}

export const DEFAULT_JOB_LIMITS: JobLimits = {
  timeoutMs: 30_000,
  memoryBytes: 256 * 1024 * 1024,
  outputBytes: 16 * 1024 * 1024,
};

/** What became of one job. The HTTP layer maps it to the API's outcomes table. */
export type JobOutcome =
  | {
      kind: 'exited';
      exitCode: number;
      stdout: Uint8Array;
      stderr: Uint8Array;
      /** The job wrote past the output limit and was stopped there. */
      outputLimited: boolean;
      durationMs: number;
    }
  | {
      kind: 'trapped';
      /** e.g. "unreachable", "memory access out of bounds", "Maximum call stack size exceeded" */
      trap: string;
      stdout: Uint8Array;
      stderr: Uint8Array;
      durationMs: number;
    }
  | { kind: 'timed-out'; limitMs: number; stdout: Uint8Array; stderr: Uint8Array; durationMs: number }
  /** Not a runnable WASI command (no _start, no memory, unknown imports, initial memory over the limit, not wasm). */
  | { kind: 'not-runnable'; message: string; durationMs: number };

/** A job to run. `key` identifies the executable's content (its SRI integrity): compiled once per key. */
export interface JobRequest {
  key: string;
  /** Called only when `key` has no compiled module yet. */
  loadBytes: () => Promise<Uint8Array>;
  stdin: Uint8Array;
  /** argv, the job's fully-qualified name first; default none. */
  args?: readonly string[];
  /** `KEY=VALUE` entries, exactly the environment the job sees; default none. */
  env?: readonly string[];
  /** The version's files, preopened as `/`. */
  files?: FsImage;
  /** The extensions this run may link (declared by its manifest, loaded by the agent). */
  extensions?: ExtensionChoice;
  signal?: AbortSignal;
}
