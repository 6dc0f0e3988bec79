/**
 * What the pool and a job worker exchange besides the per-job hand-off in shared memory
 * (jobChannel.ts).
 */
import type { MemoryShape } from './jobMemory';

/** Given to each worker once, as workerData. */
export interface WorkerSetup {
  /** The job channel: see jobChannel.ts. */
  channel: SharedArrayBuffer;
  stdout: SharedArrayBuffer;
  stderr: SharedArrayBuffer;
}

/**
 * Posted before a job's wake-up, only when shared memory is not enough for it; the worker takes it
 * with receiveMessageOnPort (it never returns to its event loop mid-job, so no listener would run).
 */
export interface JobMessage {
  /** A module this worker has not seen yet, and the id the pool runs it by. */
  module?: { id: number; module: WebAssembly.Module; instantiateAhead: boolean; memory?: MemoryShape };
  /** Module ids this worker should forget (its share of the pool's LRU bookkeeping). */
  evict?: number[];
  /** stdin larger than the shared buffer holds. */
  stdin?: Uint8Array;
}
