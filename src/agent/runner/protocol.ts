/** Messages between the pool (main thread) and a job worker. */
import type { WasiEnd } from './wasi';

/** Given to each worker once, as workerData. */
export interface WorkerSetup {
  stdout: SharedArrayBuffer;
  stderr: SharedArrayBuffer;
}

/** Run one job. `module` is sent only the first time this worker sees `key`. */
export interface RunMessage {
  key: string;
  module?: WebAssembly.Module;
  /** Keys the worker should forget (its share of the pool's LRU bookkeeping). */
  evict?: string[];
  stdin: Uint8Array;
}

/** The job's end; its stdout and stderr are in the shared buffers. */
export type ResultMessage = WasiEnd;
