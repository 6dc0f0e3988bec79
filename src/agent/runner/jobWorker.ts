/**
 * Entry point of a job worker thread (bundled as dist/jobWorker.js): runs one WASI job at a time.
 * Jobs arrive through the shared job channel (jobChannel.ts); compiled modules arrive once per
 * worker in a message and are kept; stdout/stderr go to shared buffers so the pool can read them
 * even after terminating this thread for time.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { type ChannelJob, WorkerJobChannel } from './jobChannel';
import type { JobMessage, WorkerSetup } from './protocol';
import { SharedOutputWriter } from './sharedOutput';
import { type WasiEnd, WasiHost } from './wasi';

/**
 * How long the thread blocks waiting for a job before it lets its event loop turn once: V8 runs
 * some housekeeping (such as finishing a garbage collection) as tasks of that loop.
 */
const IDLE_WAIT_MS = 1_000;

const setup = workerData as WorkerSetup;
const channel = new WorkerJobChannel(setup.channel);
const host = new WasiHost(new SharedOutputWriter(setup.stdout), new SharedOutputWriter(setup.stderr));
const modules = new Map<number, WebAssembly.Module>();
const port = parentPort;
if (!port) throw new Error('jobWorker.js runs only as a worker thread of the job runner');

/** Runs the jobs that come, then yields to the event loop once and comes back. */
function serve(): void {
  const job = channel.nextJob(IDLE_WAIT_MS);
  if (job) channel.finish(run(job));
  setImmediate(serve);
}

function run(job: ChannelJob): WasiEnd {
  // Posted before the wake-up, so it is already queued on the port.
  const message = job.hasMessage ? (receiveMessageOnPort(port!)?.message as JobMessage | undefined) : undefined;
  if (message?.evict) for (const id of message.evict) modules.delete(id);
  if (message?.module) modules.set(message.module.id, message.module.module);
  const module = modules.get(job.moduleId);
  const stdin = job.stdin ?? message?.stdin;
  if (!module || !stdin) return { kind: 'trapped', trap: `internal error: the worker is missing the module or the input of job ${job.moduleId}` };
  return host.run(module, stdin);
}

serve();
