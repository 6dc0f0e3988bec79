/**
 * What the pool and a job worker exchange besides the per-job hand-off in shared memory
 * (jobChannel.ts).
 */
import type { Executable } from './jobKind';
import type { MemoryShape } from './jobMemory';
import type { LinkedExtension } from './extensions';
import type { FsImage } from './memfs';

/**
 * One of a worker's two job channels with the output buffers of its jobs. The worker takes jobs
 * from its lanes in turn, so the pool can hand over the next job while one runs: the worker starts
 * it without sleeping and being woken in between.
 */
export interface WorkerLane {
  /** The job channel: see jobChannel.ts. */
  channel: SharedArrayBuffer;
  stdout: SharedArrayBuffer;
  stderr: SharedArrayBuffer;
}

/** Given to each worker once, as workerData. */
export interface WorkerSetup {
  lanes: [WorkerLane, WorkerLane];
  /** The job's memory limit: linear memory and its files share it. */
  memoryBytes: number;
}

/**
 * Posted before a job's wake-up, only when shared memory is not enough for it; the worker takes it
 * with receiveMessageOnPort (it never returns to its event loop mid-job, so no listener would run).
 */
export interface JobMessage {
  /** A module this worker has not seen yet, and the id the pool runs it by. */
  module?: { id: number; module: Executable; instantiateAhead: boolean; memory?: MemoryShape };
  /** Module ids this worker should forget (its share of the pool's LRU bookkeeping). */
  evict?: number[];
  /** Output buffers of this job's lane from this job on: the pool took the last ones, which a job grew. */
  outputs?: { stdout?: SharedArrayBuffer; stderr?: SharedArrayBuffer };
  /** stdin (with the run's context) larger than the shared buffer holds. */
  stdin?: Uint8Array;
  context?: Uint8Array;
  /** The version's files, preopened as `/` for this run (their bytes in shared memory: no copy). */
  files?: FsImage;
  /** Extensions this run links (compiled modules; instances are made per run). */
  extensions?: LinkedExtension[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** argv and environment of a run, as bytes for the job channel. */
export function encodeRunContext(args: readonly string[], env: readonly string[]): Uint8Array {
  return encoder.encode(JSON.stringify([args, env]));
}

export function decodeRunContext(bytes: Uint8Array): { args: string[]; env: string[] } {
  if (bytes.byteLength === 0) return { args: [], env: [] };
  const [args, env] = JSON.parse(decoder.decode(bytes)) as [string[], string[]];
  return { args, env };
}
