/**
 * The job runner: a warm pool of worker threads, each running one WASI job at a time.
 *
 * - Each executable is checked, memory-capped and compiled once per content key (an LRU of
 *   compiled modules; concurrent first runs share one compile). A compiled Module is posted to a
 *   worker once and kept there, so the hot path posts nothing: the job goes through the worker's
 *   channel in shared memory (jobChannel.ts).
 * - While a worker runs a job, the next queued one may be handed to it ahead (its second lane): it
 *   starts when the first ends, without a wake-up. A free worker takes such a job back from a busy
 *   one, so a long job never holds up the one behind it.
 * - The time limit and aborts terminate() the worker (the only way to stop a spinning guest) and
 *   a fresh worker takes its place; what the job printed is in shared memory and survives.
 * - A worker that dies ends only its own job.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ComponentCache } from './component/cache';
import { LruMap } from './lru';
import { QueueFullError, QueueTimeoutError } from './overload';
import { createJobChannelBuffer, JobChannel } from './jobChannel';
import { type Executable, jobKindOf, type PreparedExecutable } from './jobKind';
import type { MemoryShape } from './jobMemory';
import { chooseExtensions, type LinkedExtension } from './extensions';
import { MainThreadRunner, mayRunOnMainThread, QuickRuns } from './mainThread';
import type { FsImage } from './memfs';
import { encodeRunContext, type JobMessage, type WorkerLane, type WorkerSetup } from './protocol';
import { collectSoon, LARGE_JOB_BYTES } from './releaseMemory';
import { createSharedOutput, hasGrown, readSharedOutput, resetSharedOutput, takeSharedOutput } from './sharedOutput';
import type { JobCancellation, JobLimits, JobOutcome, JobRequest } from './types';

export { runInProcess } from './inProcess';
export { prepareJobModule } from './prepare';
export { QueueFullError, QueueTimeoutError } from './overload';

/** Built next to this file by both tsc (out/src/agent/runner/) and esbuild (dist/). */
const WORKER_SCRIPT = path.join(__dirname, 'jobWorker.js');
const DEFAULT_COMPILED_MODULES = 64;
export const DEFAULT_MODULE_CACHE_BYTES = 256 * 1024 * 1024;
/** setTimeout fires at once for delays past 2^31-1 ms; a longer limit is as good as none. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;
const STARTING_RECHECK_MS = 20;
const NONE: readonly string[] = [];
/**
 * How long the thread may block for a job it just handed over when its caller has nothing else to
 * do (JobRequest.callerIdle): a small job ends well within it, and is then answered without the
 * round through the event loop (a task posted by V8, an eventfd write and read, an epoll wake-up).
 * A longer job is waited for as usual once this passes.
 */
const INLINE_WAIT_MS = 1;

export interface JobRunnerOptions {
  limits: JobLimits;
  /** Worker threads; default: os.availableParallelism(). */
  workers?: number;
  /** Compiled modules kept (and per worker); default 64. */
  compiledModules?: number;
  /** Bytes of compiled modules kept (by their size as wasm; and per worker); default 256 MiB. */
  moduleCacheBytes?: number;
  /** The worker's script; default: jobWorker.js next to this file. */
  workerScript?: string;
  /** Jobs waiting for a worker; past it, runs are refused with QueueFullError. Default 100. */
  maxQueuedJobs?: number;
  /** Bytes of stdin held by waiting jobs; past it, runs are refused with QueueFullError. Default 256 MiB. */
  maxQueuedInputBytes?: number;
  /** Transpiled components (memory, and disk when given a store); default: in memory only. */
  components?: ComponentCache;
  /** Jobs of modules that proved quick run on this thread, metered (mainThread.ts); default true. */
  mainThreadRuns?: boolean;
}

export const DEFAULT_MAX_QUEUED_JOBS = 100;
export const DEFAULT_MAX_QUEUED_INPUT_BYTES = 256 * 1024 * 1024;

/** A compiled module and the number workers know it by, or why it cannot run. */
type CompiledModule =
  | {
      ok: true;
      id: number;
      module: Executable;
      instantiateAhead: boolean;
      bytes: number;
      memory?: MemoryShape;
      /** Import modules besides WASI: extensions each run links (none for most jobs). */
      extensionImports: string[];
      /** A small module's history of quick runs, and its metered copy for the main thread. */
      quick?: QuickRuns;
    }
  | { ok: false; message: string };

/** A job handed to a worker, or waiting for one. */
interface Task {
  module: Extract<CompiledModule, { ok: true }>;
  stdin: Uint8Array;
  /** argv and environment, encoded for the channel. */
  context: Uint8Array;
  files?: FsImage;
  extensions?: LinkedExtension[];
  signal?: AbortSignal;
  onAbort?: () => void;
  cancellation?: JobCancellation;
  /** The caller waits for nothing else: a quick job may be waited for on this thread (see JobRequest). */
  callerIdle?: boolean;
  resolve(outcome: JobOutcome): void;
  reject(reason: unknown): void;
  startedAt: number;
  /** While queued: ends the wait at the job's time limit. */
  queueTimer?: NodeJS.Timeout;
}

/** One of a worker's two job channels and the output buffers of its jobs (see WorkerLane). */
interface Lane {
  channel: JobChannel;
  stdout: SharedArrayBuffer;
  stderr: SharedArrayBuffer;
  /** Output buffers that replace ones the pool took (see output), for this lane's next job. */
  freshOutputs?: { stdout?: SharedArrayBuffer; stderr?: SharedArrayBuffer };
  /** Called when the channel says its job ended; made once per lane. */
  onEnded: () => void;
}

/** One worker thread with its lanes and what it has been told. */
interface Slot {
  worker: Worker;
  lanes: [Lane, Lane];
  /** The lane of the running job. */
  runningLane: number;
  /** The lane the worker takes its next job from: it uses them in turn. */
  nextLane: number;
  /** Ids of the modules this worker holds, in LRU order (mirrors the worker's map). */
  modules: LruMap<number, number>;
  /** The running job. */
  task?: Task;
  /**
   * A queued job already handed over, in the other lane, while `task` runs: the worker starts it
   * as soon as `task` ends, without sleeping and being woken. It counts as queued (its wait is
   * bounded the same way) until it starts; the pool can take it back until then.
   */
  ahead?: Task;
  /**
   * Checks the running job's time limit. Armed once and left armed across jobs (not set and
   * cleared per job): when it fires it times the job out, or re-arms for the time the current job
   * has left. Unref'd: a busy worker keeps the process alive, not this.
   */
  timer?: NodeJS.Timeout;
  /** Set once the pool terminates it on purpose: its exit is then no crash. */
  retired: boolean;
  /** Its script loaded and it waits for jobs (it said so); one that dies before is broken. */
  started: boolean;
  lastError?: string;
}

export class JobRunner {
  private readonly limits: JobLimits;
  private readonly moduleCapacity: number;
  private readonly moduleCacheBytes: number;
  private readonly slots = new Set<Slot>();
  private readonly idle: Slot[] = [];
  private readonly queue: Task[] = [];
  private readonly maxQueuedJobs: number;
  private readonly maxQueuedInputBytes: number;
  private queuedInputBytes = 0;
  /** Queued jobs already handed over to a busy worker (Slot.ahead). */
  private handedAhead = 0;
  private readonly compiled: LruMap<string, CompiledModule>;
  private readonly compiling = new Map<string, Promise<CompiledModule>>();
  private readonly contexts = new WeakMap<readonly string[], { env: readonly string[]; bytes: Uint8Array }>();
  private readonly workerScript: string;
  /** Runs jobs of modules that proved quick without a worker (mainThread.ts). */
  private readonly mainThread: MainThreadRunner | undefined;
  /** Components are transpiled once per content, here; the upload route fills it first. */
  readonly components: ComponentCache;
  private nextModuleId = 1;
  private busy = 0;
  private ranOnMainThread = 0;
  private closed = false;
  /** Why no worker could start: every job fails with it. */
  private startFailure: string | undefined;

  constructor(options: JobRunnerOptions) {
    this.limits = options.limits;
    this.moduleCapacity = options.compiledModules ?? DEFAULT_COMPILED_MODULES;
    this.moduleCacheBytes = options.moduleCacheBytes ?? DEFAULT_MODULE_CACHE_BYTES;
    this.compiled = new LruMap(this.moduleCapacity, this.moduleCacheBytes, (compiled) => (compiled.ok ? compiled.bytes + (compiled.quick?.heldBytes ?? 0) : 0));
    this.mainThread = options.mainThreadRuns === false ? undefined : new MainThreadRunner(this.limits);
    this.workerScript = options.workerScript ?? WORKER_SCRIPT;
    this.maxQueuedJobs = options.maxQueuedJobs ?? DEFAULT_MAX_QUEUED_JOBS;
    this.maxQueuedInputBytes = options.maxQueuedInputBytes ?? DEFAULT_MAX_QUEUED_INPUT_BYTES;
    this.components = options.components ?? new ComponentCache();
    const count = Math.max(1, options.workers ?? os.availableParallelism());
    for (let i = 0; i < count; i++) this.spawn();
  }

  /** Jobs running in a worker right now (not counting queued ones). */
  get running(): number {
    return this.busy;
  }

  /** Jobs answered from a run on this thread, without a worker (mainThread.ts): a figure for tests and the log. */
  get mainThreadRuns(): number {
    return this.ranOnMainThread;
  }

  /** Jobs waiting in the queue for a free worker. */
  get queued(): number {
    return this.queue.length + this.handedAhead;
  }

  /**
   * Throws QueueFullError when a job with `inputBytes` of stdin would have to wait and the queue has
   * no room: the HTTP layer asks before it reads the input, so a full agent refuses at once.
   */
  checkRoom(inputBytes: number): void {
    if (this.idle.length > 0) return;
    if (this.queued >= this.maxQueuedJobs) throw new QueueFullError(this.retryAfterS(), 'jobs');
    if (this.queuedInputBytes + inputBytes > this.maxQueuedInputBytes) throw new QueueFullError(this.retryAfterS(), 'input');
  }

  /**
   * Runs a job to one of its outcomes. Rejects when the signal or the cancellation ends it (with
   * their reason), when loadBytes fails, or when the runner is closed.
   */
  run(job: JobRequest): Promise<JobOutcome> {
    try {
      this.throwIfClosed();
      throwIfCancelled(job);
      // The hot path: a module compiled already goes to a worker without a promise hop.
      const compiled = this.compiled.get(job.key);
      return compiled ? this.runCompiled(job, compiled, performance.now()) : this.compileThenRun(job);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private async compileThenRun(job: JobRequest): Promise<JobOutcome> {
    const preparedAt = performance.now();
    const prepared = await this.prepare(job);
    this.throwIfClosed();
    throwIfCancelled(job);
    return this.runCompiled(job, prepared, preparedAt);
  }

  private runCompiled(job: JobRequest, prepared: CompiledModule, preparedAt: number): Promise<JobOutcome> {
    if (!prepared.ok) return Promise.resolve({ kind: 'not-runnable', message: prepared.message, durationMs: performance.now() - preparedAt });
    const extensions = chooseExtensions(prepared.extensionImports, job.extensions);
    if (!extensions.ok) return Promise.resolve({ kind: 'not-runnable', message: extensions.message, durationMs: performance.now() - preparedAt });
    const onMainThread = this.runOnMainThread(job, prepared, extensions.linked.length > 0);
    if (onMainThread) return Promise.resolve(onMainThread);
    if (this.startFailure) throw new Error(this.startFailure);
    this.checkRoom(job.stdin.byteLength);
    return new Promise<JobOutcome>((resolve, reject) => {
      const context = this.encodedContext(job.args ?? NONE, job.env ?? NONE);
      const linked = extensions.linked.length > 0 ? extensions.linked : undefined;
      this.enqueue({
        module: prepared,
        stdin: job.stdin,
        context,
        files: job.files,
        extensions: linked,
        signal: job.signal,
        cancellation: job.cancellation,
        callerIdle: job.callerIdle,
        resolve,
        reject,
        startedAt: 0,
      });
    });
  }

  /** The job's outcome from a run on this thread, when its module proved quick and the run could finish. */
  private runOnMainThread(job: JobRequest, module: Extract<CompiledModule, { ok: true }>, linksExtensions: boolean): JobOutcome | undefined {
    const metered = module.quick?.ready;
    if (!metered || !this.mainThread || !mayRunOnMainThread(this.limits, job.stdin.byteLength, linksExtensions || job.files !== undefined)) return undefined;
    const outcome = this.mainThread.run(module.id, metered, module.memory, job.stdin, job.args ?? NONE, job.env ?? NONE);
    if (!outcome) module.quick!.noteGivenBack();
    else {
      this.ranOnMainThread++;
      module.quick!.noteMainThreadRun(outcome.durationMs);
    }
    return outcome;
  }

  /**
   * argv and environment as the channel carries them. The agent passes the same arrays to every
   * run of a version that gives no `arg` or `env`, so those are encoded once.
   */
  private encodedContext(args: readonly string[], env: readonly string[]): Uint8Array {
    const kept = this.contexts.get(args);
    if (kept?.env === env) return kept.bytes;
    const bytes = encodeRunContext(args, env);
    this.contexts.set(args, { env, bytes });
    return bytes;
  }

  /** Ends every job (queued or running: their promises reject) and stops the workers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = new Error('the job runner was closed before the job finished');
    for (const task of this.dequeueAll()) this.settle(task, () => task.reject(error));
    const stopping = [...this.slots].map((slot) => {
      if (slot.task) this.detach(slot, (task) => task.reject(error));
      const ahead = this.takeAhead(slot);
      if (ahead) {
        this.unqueued(ahead);
        this.settle(ahead, () => ahead.reject(error));
      }
      return this.retire(slot);
    });
    this.idle.length = 0;
    await Promise.all(stopping);
  }

  // ---- compiling --------------------------------------------------------------------------

  private prepare(job: JobRequest): CompiledModule | Promise<CompiledModule> {
    const cached = this.compiled.get(job.key);
    if (cached) return cached;
    let pending = this.compiling.get(job.key);
    if (!pending) {
      const context = { key: job.key, memoryLimitBytes: this.limits.memoryBytes, components: this.components };
      pending = job.loadBytes().then(async (bytes) => this.numbered(await jobKindOf(bytes).prepare(bytes, context)));
      this.compiling.set(job.key, pending);
      // A refusal is cached like a module (the content behind a key never changes); a failed
      // load is not, so the next run tries again.
      const key = job.key;
      pending.then(
        (prepared) => {
          this.compiled.set(key, prepared);
          this.compiling.delete(key);
        },
        () => this.compiling.delete(key),
      );
    }
    return pending;
  }

  private numbered(prepared: PreparedExecutable): CompiledModule {
    if (!prepared.ok) return prepared;
    const { executable, bytes, memory, extensionImports, meterable } = prepared;
    // A module that links extensions cannot be instantiated ahead: its imports come with each run.
    const instantiateAhead = prepared.instantiateAhead && extensionImports.length === 0;
    const quick = meterable && instantiateAhead && this.mainThread ? new QuickRuns(meterable) : undefined;
    return { ok: true, id: this.nextModuleId++, module: executable, instantiateAhead, bytes, memory, extensionImports, quick };
  }

  // ---- scheduling -------------------------------------------------------------------------

  private enqueue(task: Task): void {
    if (task.signal) {
      task.onAbort = () => this.abort(task, task.signal?.reason);
      task.signal.addEventListener('abort', task.onAbort, { once: true });
    }
    if (task.cancellation) task.cancellation.onCancel = (reason) => this.abort(task, reason);
    const slot = this.idle.pop();
    if (slot) return this.dispatch(slot, task);
    const queuedAt = performance.now();
    const waitLimit = Math.min(this.limits.timeoutMs, LONGEST_TIMER_MS);
    const onWaitedTooLong = (): void => {
      // Waiting for a thread to start (the first jobs, or a replacement after a time-out) is the
      // pool's own delay, not overload: the job waits on.
      if (this.workerStarting()) {
        // Looked at again once the thread is up: a job still waiting then waits behind others.
        task.queueTimer = setTimeout(onWaitedTooLong, STARTING_RECHECK_MS);
        return;
      }
      // A job handed ahead that its worker has started is no longer waiting.
      if (!this.dequeue(task) && !this.withdrawAhead(task)) return;
      this.settle(task, () => task.reject(new QueueTimeoutError(performance.now() - queuedAt, this.retryAfterS())));
    };
    task.queueTimer = setTimeout(onWaitedTooLong, waitLimit);
    this.queue.push(task);
    this.queuedInputBytes += task.stdin.byteLength;
    for (const busy of this.slots) {
      if (this.queue.length === 0) break;
      this.handAhead(busy);
    }
  }

  /** Takes a waiting task off the queue (false if it was not there). */
  private dequeue(task: Task): boolean {
    const index = this.queue.indexOf(task);
    if (index < 0) return false;
    this.queue.splice(index, 1);
    this.unqueued(task);
    return true;
  }

  private dequeueAll(): Task[] {
    const tasks = this.queue.splice(0);
    tasks.forEach((task) => this.unqueued(task));
    return tasks;
  }

  /** Takes back a job handed ahead that its worker has not started (false: not there, or started). */
  private withdrawAhead(task: Task): boolean {
    for (const slot of this.slots) {
      if (slot.ahead !== task) continue;
      if (!slot.lanes[slot.runningLane ^ 1].channel.withdraw()) return false;
      this.takeAhead(slot);
      this.unqueued(task);
      return true;
    }
    return false;
  }

  /** The slot's job handed ahead, off the slot (still counted as queued, its timer running). */
  private takeAhead(slot: Slot): Task | undefined {
    const task = slot.ahead;
    if (!task) return undefined;
    slot.ahead = undefined;
    this.handedAhead--;
    return task;
  }

  private unqueued(task: Task): void {
    clearTimeout(task.queueTimer);
    task.queueTimer = undefined;
    this.queuedInputBytes -= task.stdin.byteLength;
  }

  private workerStarting(): boolean {
    for (const slot of this.slots) if (!slot.started && !slot.retired) return true;
    return false;
  }

  /** Seconds until the running job that started first reaches its time limit: a worker is free by then. */
  private retryAfterS(): number {
    const now = performance.now();
    let soonestMs = this.limits.timeoutMs;
    for (const slot of this.slots) {
      if (slot.task) soonestMs = Math.min(soonestMs, slot.task.startedAt + this.limits.timeoutMs - now);
    }
    return Math.max(1, Math.ceil(soonestMs / 1000));
  }

  /** Starts `task` on a slot that runs nothing. */
  private dispatch(slot: Slot, task: Task): void {
    const laneIndex = slot.nextLane;
    const lane = slot.lanes[laneIndex];
    slot.nextLane ^= 1;
    slot.runningLane = laneIndex;
    slot.task = task;
    this.busy++;
    resetSharedOutput(lane.stdout);
    resetSharedOutput(lane.stderr);
    const message = this.messageFor(slot, lane, task);
    if (message) slot.worker.postMessage(message, message.stdin && !(message.stdin.buffer instanceof SharedArrayBuffer) ? [message.stdin.buffer] : []);
    slot.worker.ref();
    task.startedAt = performance.now();
    if (!slot.timer) this.armDeadline(slot, this.limits.timeoutMs);
    lane.channel.start(task.module.id, task.stdin, task.context, message !== undefined);
    const alone = task.callerIdle && this.busy === 1 && this.queue.length === 0;
    if (alone && lane.channel.waitEnded(INLINE_WAIT_MS)) return this.onEnded(slot, laneIndex);
    lane.channel.whenEnded(lane.onEnded);
  }

  /**
   * Hands the first queued job over to a busy slot's other lane, so that its worker goes on to it
   * without a wake-up. Only a job that needs no message (a module the worker has, input in the
   * channel, no files or extensions): a job taken back is then simply skipped by the worker.
   */
  private handAhead(slot: Slot): void {
    const task = this.queue[0];
    // After a job was taken back, the next lane is the running one (the other still holds the
    // withdrawn job until the worker skips it): handing ahead there would overwrite the running job.
    if (!task || !slot.task || slot.ahead || slot.retired || slot.nextLane === slot.runningLane) return;
    const lane = slot.lanes[slot.nextLane];
    const needsMessage = !slot.modules.get(task.module.id) || lane.freshOutputs || !lane.channel.fits(task.stdin, task.context) || task.files || task.extensions;
    // The lane's last job may be one taken back that the worker has not skipped yet.
    if (needsMessage || !lane.channel.isIdle()) return;
    this.queue.shift();
    slot.ahead = task;
    this.handedAhead++;
    slot.nextLane ^= 1;
    resetSharedOutput(lane.stdout);
    resetSharedOutput(lane.stderr);
    lane.channel.start(task.module.id, task.stdin, task.context, false);
    lane.channel.whenEnded(lane.onEnded);
  }

  /** What the job needs beyond the channel: a module new to this worker, a large stdin; usually nothing. */
  private messageFor(slot: Slot, lane: Lane, task: Task): JobMessage | undefined {
    let message: JobMessage | undefined;
    if (!slot.modules.get(task.module.id)) {
      const { id, module, instantiateAhead, memory } = task.module;
      message = { module: { id, module, instantiateAhead, memory } };
      const evicted = slot.modules.set(task.module.id, task.module.bytes);
      if (evicted.length > 0) message.evict = evicted;
    }
    if (lane.freshOutputs) {
      message = { ...message, outputs: lane.freshOutputs };
      lane.freshOutputs = undefined;
    }
    if (!lane.channel.fits(task.stdin, task.context)) {
      // Input in shared memory is posted as it is (the worker reads it in place); other input is
      // copied once and the copy transferred: posting the caller's view would clone its whole
      // backing buffer, and transferring it would detach the caller's bytes.
      const shared = task.stdin.buffer instanceof SharedArrayBuffer;
      message = { ...message, stdin: shared ? task.stdin : new Uint8Array(task.stdin), context: task.context };
    }
    if (task.files) message = { ...message, files: task.files };
    if (task.extensions) message = { ...message, extensions: task.extensions };
    return message;
  }

  /**
   * A slot is free: give it the next queued job (or one handed ahead to a busy worker that has not
   * started it), or let it idle (without keeping the process alive).
   */
  private release(slot: Slot): void {
    const next = this.queue.shift() ?? this.stealAhead();
    if (next) {
      this.unqueued(next);
      this.dispatch(slot, next);
      this.handAhead(slot);
    } else {
      slot.worker.unref();
      this.idle.push(slot);
    }
  }

  /** A job handed ahead to a worker still busy with another, taken back for a free one. */
  private stealAhead(): Task | undefined {
    for (const slot of this.slots) {
      if (slot.ahead && slot.lanes[slot.runningLane ^ 1].channel.withdraw()) return this.takeAhead(slot);
    }
    return undefined;
  }

  /** A job already starts the worker on (its lane's end is noted) becomes the running one. */
  private startAhead(slot: Slot): boolean {
    const task = this.takeAhead(slot);
    if (!task) return false;
    this.unqueued(task);
    slot.task = task;
    slot.runningLane ^= 1;
    this.busy++;
    task.startedAt = performance.now();
    // It may have ended already: its own callback came while it was not the running job.
    if (slot.lanes[slot.runningLane].channel.isIdle()) this.onEnded(slot, slot.runningLane);
    else this.handAhead(slot);
    return true;
  }

  /** Takes note of a running job that has ended but whose callback has not run yet. */
  private catchUp(slot: Slot): void {
    if (slot.task && !slot.retired && slot.lanes[slot.runningLane].channel.isIdle()) this.onEnded(slot, slot.runningLane);
  }

  private armDeadline(slot: Slot, inMs: number): void {
    slot.timer = setTimeout(() => this.checkDeadline(slot), Math.min(Math.max(0, inMs), LONGEST_TIMER_MS));
    slot.timer.unref();
  }

  private checkDeadline(slot: Slot): void {
    slot.timer = undefined;
    this.catchUp(slot);
    const task = slot.task;
    if (!task || slot.retired) return;
    const leftMs = task.startedAt + this.limits.timeoutMs - performance.now();
    if (leftMs <= 0 || this.limits.timeoutMs >= LONGEST_TIMER_MS) this.timeOut(slot);
    else this.armDeadline(slot, leftMs);
  }

  /** Takes the slot's task off it (abort listener, count) and hands it to `end`. */
  private detach(slot: Slot, end: (task: Task) => void): void {
    const task = slot.task;
    if (!task) return;
    slot.task = undefined;
    this.busy--;
    this.settle(task, end);
  }

  private settle(task: Task, end: (task: Task) => void): void {
    if (task.onAbort) task.signal?.removeEventListener('abort', task.onAbort);
    if (task.cancellation) task.cancellation.onCancel = undefined;
    end(task);
  }

  // ---- how a job ends -----------------------------------------------------------------------

  private onEnded(slot: Slot, laneIndex: number): void {
    if (this.answerEnded(slot, laneIndex) && !this.startAhead(slot)) this.release(slot);
  }

  /** Answers the running job from its lane if it has ended there; true if it had. */
  private answerEnded(slot: Slot, laneIndex: number): boolean {
    const lane = slot.lanes[laneIndex];
    // An end that crosses a timeout or abort belongs to a job that has already ended; one of a
    // lane that is not the running job's, or still busy, is a callback that came late.
    if (slot.retired || !slot.task || slot.runningLane !== laneIndex || !lane.channel.isIdle()) return false;
    const result = lane.channel.end();
    const { stdout, stderr } = this.outputOf(lane);
    if (slot.task.stdin.byteLength + stdout.byteLength + stderr.byteLength >= LARGE_JOB_BYTES) collectSoon();
    this.detach(slot, (task) => {
      const durationMs = performance.now() - task.startedAt;
      task.module.quick?.noteWorkerRun(durationMs, result.kind === 'exited');
      task.resolve(
        result.kind === 'exited'
          ? { kind: 'exited', exitCode: result.exitCode, outputLimited: result.outputLimited, stdout, stderr, durationMs }
          : { kind: 'trapped', trap: result.trap, stdout, stderr, durationMs },
      );
    });
    return true;
  }

  private timeOut(slot: Slot): void {
    const { stdout, stderr } = this.outputOf(slot.lanes[slot.runningLane]);
    this.detach(slot, (task) => {
      const durationMs = performance.now() - task.startedAt;
      task.module.quick?.noteWorkerRun(durationMs, false);
      task.resolve({ kind: 'timed-out', limitMs: this.limits.timeoutMs, stdout, stderr, durationMs });
    });
    this.replace(slot);
  }

  private abort(task: Task, reason: unknown): void {
    if (this.dequeue(task)) {
      task.reject(reason);
      return;
    }
    if (this.withdrawAhead(task)) {
      this.settle(task, () => task.reject(reason));
      return;
    }
    for (const slot of this.slots) {
      // A job handed ahead that its worker started: it is the running one once the one before is noted.
      if (slot.ahead === task) this.catchUp(slot);
      if (slot.task !== task) continue;
      this.detach(slot, () => task.reject(reason));
      this.replace(slot);
      return;
    }
  }

  /** The worker died on its own (an uncaught error in the thread): end its job, start another. */
  private onCrash(slot: Slot, exitCode: number): void {
    if (slot.retired) return;
    const cause = slot.lastError ?? `exit code ${exitCode}`;
    const idleIndex = this.idle.indexOf(slot);
    if (idleIndex >= 0) this.idle.splice(idleIndex, 1);
    // An error before ready is the script's own (a terminate() gives none): replacing would repeat it.
    if (!slot.started && slot.lastError !== undefined) return this.failedToStart(slot, cause);
    // A job that ended before the thread did is answered with its result (one handed ahead is
    // queued again by replace: it may not have started).
    this.answerEnded(slot, slot.runningLane);
    const { stdout, stderr } = this.outputOf(slot.lanes[slot.runningLane]);
    this.detach(slot, (task) => {
      const durationMs = performance.now() - task.startedAt;
      task.resolve({ kind: 'trapped', trap: `the job's worker thread stopped unexpectedly (${cause})`, stdout, stderr, durationMs });
    });
    this.replace(slot);
  }

  /**
   * A worker that fails before its script said it is ready never had a job: it is broken (a
   * missing or damaged script), and its replacement would fail the same way; respawning spun a
   * core forever. The pool goes on with the workers it has; with none left, queued and later jobs fail
   * with the reason.
   */
  private failedToStart(slot: Slot, cause: string): void {
    void this.retire(slot);
    if (this.slots.size > 0 || this.closed) return;
    this.startFailure = `the job worker thread could not start (${cause}) from ${this.workerScript}; reinstall Serval`;
    const error = new Error(this.startFailure);
    for (const task of this.dequeueAll()) this.settle(task, () => task.reject(error));
  }

  private outputOf(lane: Lane): { stdout: Uint8Array; stderr: Uint8Array } {
    return { stdout: this.output(lane, 'stdout'), stderr: this.output(lane, 'stderr') };
  }

  /**
   * A small output is copied out of the worker's buffer. A buffer that a job grew is taken as it
   * is (no copy of a large output) and the worker gets a fresh small one with its next job, so
   * neither the copy nor the grown buffer stays around.
   */
  private output(lane: Lane, stream: 'stdout' | 'stderr'): Uint8Array {
    const buffer = lane[stream];
    if (!hasGrown(buffer)) return readSharedOutput(buffer);
    const fresh = createSharedOutput(this.limits.outputBytes);
    lane[stream] = fresh;
    lane.freshOutputs = { ...lane.freshOutputs, [stream]: fresh };
    return takeSharedOutput(buffer);
  }

  // ---- workers ------------------------------------------------------------------------------

  private spawn(): Slot {
    const workerLane = (): WorkerLane => ({
      channel: createJobChannelBuffer(),
      stdout: createSharedOutput(this.limits.outputBytes),
      stderr: createSharedOutput(this.limits.outputBytes),
    });
    const setup: WorkerSetup = { lanes: [workerLane(), workerLane()], memoryBytes: this.limits.memoryBytes };
    const worker = new Worker(this.workerScript, { workerData: setup });
    const lane = (index: number): Lane => {
      const { channel, stdout, stderr } = setup.lanes[index]!;
      return { channel: new JobChannel(channel), stdout, stderr, onEnded: () => this.onEnded(slot, index) };
    };
    const slot: Slot = {
      worker,
      lanes: [lane(0), lane(1)],
      runningLane: 0,
      nextLane: 0,
      modules: new LruMap(this.moduleCapacity, this.moduleCacheBytes, (bytes) => bytes),
      retired: false,
      started: false,
    };
    // Idle (and so given jobs) only once its script is ready: a job's time limit must not include a
    // thread's start, and a job must never be blamed for a worker that could not start.
    worker.once('message', () => {
      slot.started = true;
      if (!this.closed && !slot.retired) this.release(slot);
    });
    worker.on('error', (error) => (slot.lastError = error.message));
    worker.on('exit', (code) => this.onCrash(slot, code));
    this.slots.add(slot);
    return slot;
  }

  /**
   * Terminates the slot's worker (in the background) and starts a fresh one in its place. A job
   * handed ahead to it goes back to the front of the queue: it had not started (or it is run
   * afresh: what it did was the terminated thread's).
   */
  private replace(slot: Slot): void {
    const ahead = this.takeAhead(slot);
    if (ahead) this.queue.unshift(ahead);
    void this.retire(slot);
    if (!this.closed) this.spawn();
  }

  private async retire(slot: Slot): Promise<void> {
    slot.retired = true;
    clearTimeout(slot.timer);
    this.slots.delete(slot);
    await slot.worker.terminate();
    for (const lane of slot.lanes) lane.channel.release();
  }

  private throwIfClosed(): void {
    if (this.closed) throw new Error('the job runner is closed; start the agent again to run jobs');
  }
}

function throwIfCancelled(job: JobRequest): void {
  job.signal?.throwIfAborted();
  if (job.cancellation?.cancelled) throw new DOMException('the run was cancelled', 'AbortError');
}
