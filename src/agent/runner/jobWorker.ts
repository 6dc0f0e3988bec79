/**
 * Entry point of a job worker thread (bundled as dist/jobWorker.js): runs one WASI job at a time.
 * Compiled modules arrive once per key and are kept; stdout/stderr go to shared buffers so the
 * pool can read them even after terminating this thread for time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ResultMessage, RunMessage, WorkerSetup } from './protocol';
import { SharedOutputWriter } from './sharedOutput';
import { WasiHost } from './wasi';

const setup = workerData as WorkerSetup;
const host = new WasiHost(new SharedOutputWriter(setup.stdout), new SharedOutputWriter(setup.stderr));
const modules = new Map<string, WebAssembly.Module>();
const port = parentPort;
if (!port) throw new Error('jobWorker.js runs only as a worker thread of the job runner');

port.on('message', (message: RunMessage) => {
  if (message.evict) for (const key of message.evict) modules.delete(key);
  if (message.module) modules.set(message.key, message.module);
  const module = modules.get(message.key);
  const result: ResultMessage = module
    ? host.run(module, message.stdin)
    : { kind: 'trapped', trap: `internal error: the worker has no compiled module for ${message.key}` };
  port.postMessage(result);
});
