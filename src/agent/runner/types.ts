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
  /** Another way to cancel the job, cheaper than an AbortSignal (see JobCancellation). */
  cancellation?: JobCancellation;
  /**
   * The caller has nothing else to do until this job ends (the agent serves no other request): the
   * runner may then block the thread for a short while waiting for a quick job, instead of going
   * back to the event loop and being woken through it.
   */
  callerIdle?: boolean;
}

/**
 * Cancels a job the way an AbortSignal would, without one: while the job is queued or running the
 * runner sets `onCancel`, which the owner calls with the reason to end it; it is cleared once the
 * job has ended. A job whose `cancelled` is already true is refused before it is handed over.
 */
export interface JobCancellation {
  readonly cancelled: boolean;
  onCancel: ((reason: unknown) => void) | undefined;
}
