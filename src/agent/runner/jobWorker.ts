/**
 * Entry point of a job worker thread (bundled as dist/jobWorker.js): runs one WASI job at a time.
 * Jobs arrive through the shared job channel (jobChannel.ts); compiled modules arrive once per
 * worker in a message and are kept; stdout/stderr go to shared buffers so the pool can read them
 * even after terminating this thread for time.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { ComponentRunner } from './component/run';
import { type ChannelJob, WITHDRAWN_JOB, WorkerJobChannel } from './jobChannel';
import { type Executable, isComponent } from './jobKind';
import { JobMemories, type MemoryShape } from './jobMemory';
import { decodeRunContext, type JobMessage, type WorkerLane, type WorkerSetup } from './protocol';
import { collectNow, LARGE_JOB_BYTES } from './releaseMemory';
import { SharedOutputWriter } from './sharedOutput';
import { type WasiEnd, WasiHost } from './wasi';

/**
 * How long the thread blocks waiting for a job before it lets its event loop turn once: V8 runs
 * some housekeeping (such as finishing a garbage collection) as tasks of that loop.
 */
const IDLE_WAIT_MS = 1_000;
const YIELD_EVERY_MS = 20;

interface KeptModule {
  module: Executable;
  /** No start section: instantiating it runs no guest code (see instantiateAhead). */
  instantiateAhead: boolean;
  /** It imports its memory, of this shape: one is reused between its jobs (jobMemory.ts). */
  memory?: MemoryShape;
}

const setup = workerData as WorkerSetup;
/** The lanes' channels and output buffers (see WorkerLane); the buffers change when the pool takes a grown one. */
const lanes = setup.lanes.map((lane: WorkerLane) => ({ channel: new WorkerJobChannel(lane.channel), stdout: lane.stdout, stderr: lane.stderr }));
const stdout = new SharedOutputWriter(lanes[0]!.stdout);
const stderr = new SharedOutputWriter(lanes[0]!.stderr);
const host = new WasiHost(stdout, stderr);
const components = new ComponentRunner(stdout, stderr);
const modules = new Map<number, KeptModule>();
const memories = new JobMemories<number>();
const port = parentPort;
if (!port) throw new Error('jobWorker.js runs only as a worker thread of the job runner');

/** A fresh, never-run instance of the module of the last job, for the next one. */
let ahead: { moduleId: number; instance: WebAssembly.Instance } | undefined;

/** The lane whose job comes next: the pool hands jobs over to the lanes in turn. */
let laneIndex = 0;

/**
 * Runs the jobs that come back to back, and yields to the event loop once when idle for
 * IDLE_WAIT_MS or busy for YIELD_EVERY_MS, then comes back. (A turn of the loop after every job
 * cost a few syscalls per job.)
 */
function serve(): void {
  const yieldAt = performance.now() + YIELD_EVERY_MS;
  for (;;) {
    const lane = lanes[laneIndex]!;
    const job = lane.channel.nextJob(IDLE_WAIT_MS);
    if (!job) break;
    laneIndex ^= 1;
    // Taken back by the pool before it started: the lane's turn is used, nothing runs.
    if (job === WITHDRAWN_JOB) continue;
    lane.channel.finish(run(job, lane));
    // Off the job's path (the pool already has the result): clean up after it, get the next one ready.
    recycleMemory(job.moduleId);
    instantiateAhead(job.moduleId);
    // A large input came by message: free it now, not when this quiet heap next collects.
    if (largeInput) collectNow();
    largeInput = false;
    if (performance.now() >= yieldAt) break;
  }
  setImmediate(serve);
}

/** The running job's input is large (see releaseMemory.ts). */
let largeInput = false;

function run(job: ChannelJob, lane: (typeof lanes)[number]): WasiEnd {
  // Posted before the wake-up, so it is already queued on the port.
  const message = job.hasMessage ? (receiveMessageOnPort(port!)?.message as JobMessage | undefined) : undefined;
  if (message) keep(message, lane);
  stdout.use(lane.stdout);
  stderr.use(lane.stderr);
  largeInput = (message?.stdin?.byteLength ?? 0) >= LARGE_JOB_BYTES;
  const kept = modules.get(job.moduleId);
  const stdin = job.stdin ?? message?.stdin;
  const context = job.context ?? message?.context;
  if (!kept || !stdin || !context) return { kind: 'trapped', trap: `internal error: the worker is missing the module or the input of job ${job.moduleId}` };
  if (isComponent(kept.module)) return components.run(kept.module, { stdin, ...decodeRunContext(context), files: message?.files, memoryBytes: setup.memoryBytes });
  const instance = ahead?.moduleId === job.moduleId ? ahead.instance : undefined;
  ahead = undefined;
  const memory = instance || !kept.memory ? undefined : memories.take(job.moduleId, kept.memory);
  const runContext = { ...decodeRunContext(context), files: message?.files, extensions: message?.extensions, memoryBytes: setup.memoryBytes };
  return host.run(kept.module, stdin, instance, memory, runContext);
}

function recycleMemory(moduleId: number): void {
  const shape = modules.get(moduleId)?.memory;
  if (shape) memories.recycle(moduleId, shape);
}

function keep(message: JobMessage, lane: (typeof lanes)[number]): void {
  if (message.outputs?.stdout) lane.stdout = message.outputs.stdout;
  if (message.outputs?.stderr) lane.stderr = message.outputs.stderr;
  for (const id of message.evict ?? []) {
    const evicted = modules.get(id)?.module;
    if (evicted && isComponent(evicted)) components.forget(evicted);
    modules.delete(id);
    memories.forget(id);
    if (ahead?.moduleId === id) ahead = undefined;
  }
  if (message.module) {
    const { id, module, instantiateAhead, memory } = message.module;
    modules.set(id, { module, instantiateAhead, memory });
  }
}

/**
 * Instantiating (memory mapped and zeroed, data segments copied) costs most of a small job's time;
 * a hot job is likely to run again, so the next instance is made while the pool sends the result,
 * off the job's path. Every job still gets a fresh instance, and a start section (guest code run by
 * instantiation, outside any job) rules it out.
 */
function instantiateAhead(moduleId: number): void {
  const kept = modules.get(moduleId);
  // A component's instantiation runs its adapter's start code: the component runner judges it (run.ts).
  if (kept && isComponent(kept.module)) {
    components.instantiateAhead(kept.module);
    return;
  }
  if (!kept?.instantiateAhead) return;
  try {
    const memory = kept.memory && memories.take(moduleId, kept.memory);
    ahead = { moduleId, instance: host.instantiate(kept.module, memory) };
  } catch {
    // The job then instantiates it itself and reports why it failed.
  }
}

// Tells the pool this thread loaded and can take jobs (the only message it ever sends).
port.postMessage('ready');
serve();
