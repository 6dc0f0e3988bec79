/**
 * Quick jobs on the agent's own thread, without the hand-off to a worker and back.
 *
 * Why: for a small job the hand-off costs several times the job (two wake-ups, a futex each way,
 * the main thread preempted by the worker it wakes), and it was most of the agent's time per
 * request. A worker exists to stop a job that runs too long (terminate() is the only way to stop a
 * spinning guest), and the main thread cannot be stopped that way: so a job runs here only as a
 * copy of its module metered with fuel (wasm/fuel.ts) that stops itself after a bounded amount of
 * work, a few milliseconds, and only once the module's last runs in workers were all quick.
 *
 * A run here that does not simply exit (its fuel ran out, it wanted to sleep, it trapped, it could
 * not be instantiated) is given back: nothing of it is kept, and the job runs from scratch in a
 * worker, as if it had gone there first (jobs read stdin and write buffered output, so a run has
 * no effect until it is answered). The module then has to prove itself quick again, over twice as
 * many worker runs each time, so a job that is only sometimes quick costs little.
 *
 * Isolation is the workers': nothing of a job outlives it. Where the metered copy could also be
 * made resettable (wasm/resettable.ts), one instance per module runs job after job: its memory is
 * zeroed after every job, and before each its data segments and mutable globals are set back, so
 * it starts exactly as a fresh instance would (its tables cannot change: such modules are declined);
 * a job that grew the memory takes the instance with it. Otherwise every job gets a fresh instance,
 * on a memory reused only by the same module and zeroed between jobs (jobMemory.ts).
 */
import { fuelRanOut, meterFuel } from '../../wasm/fuel';
import { makeResettable, RESET_EXPORT } from '../../wasm/resettable';
import { JobMemories, type MemoryShape } from './jobMemory';
import type { JobLimits, JobOutcome } from './types';
import { MemorySink, type RunContext, type WasiEnd, WasiHost } from './wasi';

/**
 * Function entries and loop iterations a run here may make before it stops itself: a few
 * milliseconds of the busiest loop, far more than a quick job needs.
 */
export const FUEL_BUDGET = 1_000_000;
/** Larger modules are never metered: their copy would double a big compile for little gain. */
export const MAX_METERED_MODULE_BYTES = 1024 * 1024;
/** A job that writes more goes to a worker: copying its output would hold this thread. */
const MAIN_THREAD_OUTPUT_BYTES = 1024 * 1024;
/**
 * A run here that took longer (work that fuel does not count: a large host call, or other work of
 * the engine's own) is answered, but its module must prove itself quick again, as after a run given back.
 */
const SLOW_RUN_MS = 5;
/** A larger stdin goes to a worker: the job's time grows with its input. */
export const MAX_MAIN_THREAD_INPUT_BYTES = 64 * 1024;
/**
 * A worker run at most this long counts as quick. It includes the hand-off, which a busy machine
 * stretches: a guess too kind costs one run out of fuel here (a few ms), then twice the proof.
 */
const QUICK_RUN_MS = 2;
/** Quick worker runs in a row before the first run here; doubled after each run given back. */
const FIRST_STREAK = 4;
const LONGEST_STREAK = 4096;
/** Job limits shorter than this leave no room for a run here and then one in a worker. */
const SHORTEST_TIMEOUT_MS = 100;
/** Memories kept for runs here, one per module (each up to its initial size). */
const KEPT_MEMORIES = 8;

/** Whether a module's jobs may run on the agent's thread, learned from its runs in workers. */
export class QuickRuns {
  private streak = 0;
  private needed = FIRST_STREAK;
  private metered: WebAssembly.Module | undefined;
  private meterable: Uint8Array | undefined;

  /** `meterable`: the module's runnable bytes, metered once it proves quick (then dropped). */
  constructor(meterable: Uint8Array) {
    this.meterable = meterable;
  }

  /** The bytes held for metering, counted against the compiled-module cache. */
  get heldBytes(): number {
    return this.meterable?.byteLength ?? 0;
  }

  /** The metered module, while its module's recent runs in workers were all quick. */
  get ready(): WebAssembly.Module | undefined {
    return this.streak >= this.needed ? this.metered : undefined;
  }

  noteWorkerRun(durationMs: number, exited: boolean): void {
    this.streak = exited && durationMs <= QUICK_RUN_MS ? this.streak + 1 : 0;
    if (this.streak >= this.needed && this.meterable) this.meterSoon();
  }

  /** A run here ended in time; one that took too long counts as given back. */
  noteMainThreadRun(durationMs: number): void {
    if (durationMs > SLOW_RUN_MS) this.noteGivenBack();
  }

  /** A run here could not finish: the job went to a worker. */
  noteGivenBack(): void {
    this.streak = 0;
    this.needed = Math.min(this.needed * 2, LONGEST_STREAK);
  }

  /** Metered off the request that found it quick, compiled by V8 off this thread. */
  private meterSoon(): void {
    const bytes = this.meterable!;
    this.meterable = undefined;
    setImmediate(() => {
      const metered = meterFuel(bytes, FUEL_BUDGET);
      if (!metered) return;
      WebAssembly.compile(makeResettable(metered) ?? metered).then(
        (module) => (this.metered = module),
        () => undefined, // it stays a worker's job
      );
    });
  }
}

/** Whether a job may try the main thread at all (the module's history aside). */
export function mayRunOnMainThread(limits: JobLimits, stdinBytes: number, hasFilesOrExtensions: boolean): boolean {
  return !hasFilesOrExtensions && stdinBytes <= MAX_MAIN_THREAD_INPUT_BYTES && limits.timeoutMs >= SHORTEST_TIMEOUT_MS;
}

/** How a run on this thread ended, and on which instance (its fuel tells whether it ran out). */
interface Ran {
  end: WasiEnd;
  instance: WebAssembly.Instance;
}

/** A module's one instance on this thread, reset before each job. */
interface Reusable {
  metered: WebAssembly.Module;
  instance: WebAssembly.Instance;
  memory: WebAssembly.Memory;
  reset: () => void;
}

const PAGE_BYTES = 65536;
const resettable = new WeakMap<WebAssembly.Module, boolean>();

/** The metered module was made resettable (wasm/resettable.ts): it exports the reset function. */
function isResettable(module: WebAssembly.Module): boolean {
  let known = resettable.get(module);
  if (known === undefined) {
    known = WebAssembly.Module.exports(module).some((e) => e.name === RESET_EXPORT && e.kind === 'function');
    resettable.set(module, known);
  }
  return known;
}

interface Fresh {
  moduleId: number;
  metered: WebAssembly.Module;
  shape: MemoryShape | undefined;
  memory: WebAssembly.Memory | undefined;
  instance: WebAssembly.Instance;
}

/** Thrown by the host when a job must go to a worker; the run is given back (a guest that catches it is too). */
const GIVE_BACK = Symbol('the job is given back to a worker');

export class MainThreadRunner {
  private readonly stdout: MemorySink;
  private readonly stderr: MemorySink;
  private readonly host: WasiHost;
  /** What a job may write here; one that writes more (and may, by its limit) is given back. */
  private readonly outputCap: number;
  private readonly memories = new JobMemories<number>();
  /** Modules whose memories are kept, oldest first. */
  private readonly memoryOwners: number[] = [];
  /** The host gave the running job back (a sleep, a large call, a large output). */
  private givenBack = false;
  /** Modules' kept instances (resettable ones), least recently used first. */
  private readonly reusable = new Map<number, Reusable>();
  /** A never-run instance of the module run last, made after its job (instantiateSoon). */
  private ahead: Fresh | undefined;
  private next: Omit<Fresh, 'instance' | 'memory'> | undefined;
  private aheadScheduled = false;

  constructor(private readonly limits: JobLimits) {
    this.outputCap = Math.min(limits.outputBytes, MAIN_THREAD_OUTPUT_BYTES);
    this.stdout = new MemorySink(this.outputCap);
    this.stderr = new MemorySink(this.outputCap);
    this.host = new WasiHost(this.stdout, this.stderr, {
      giveBack: () => {
        this.givenBack = true;
        throw GIVE_BACK;
      },
    });
  }

  /**
   * Runs a job of module `moduleId` from its metered copy: its outcome, or undefined when it must
   * run in a worker instead (see the header).
   */
  run(moduleId: number, metered: WebAssembly.Module, shape: MemoryShape | undefined, stdin: Uint8Array, args: readonly string[], env: readonly string[]): JobOutcome | undefined {
    const startedAt = performance.now();
    this.givenBack = false;
    const runContext: RunContext = { args, env, memoryBytes: this.limits.memoryBytes };
    const ran = shape && isResettable(metered) ? this.runReusing(moduleId, metered, shape, stdin, runContext) : this.runFresh(moduleId, metered, shape, stdin, runContext);
    const stdout = this.stdout.take();
    const stderr = this.stderr.take();
    if (!ran || ran.end.kind !== 'exited' || this.givenBack || fuelRanOut(ran.instance)) return undefined;
    if (ran.end.outputLimited && this.outputCap < this.limits.outputBytes) return undefined;
    return { kind: 'exited', exitCode: ran.end.exitCode, outputLimited: ran.end.outputLimited, stdout, stderr, durationMs: performance.now() - startedAt };
  }

  /** A run on a fresh instance, made ahead after the module's last job when it could be. */
  private runFresh(moduleId: number, metered: WebAssembly.Module, shape: MemoryShape | undefined, stdin: Uint8Array, context: RunContext): Ran | undefined {
    const fresh = this.takeAhead(metered) ?? this.instantiate(moduleId, metered, shape);
    if (!fresh) return undefined;
    const end = this.host.run(metered, stdin, fresh.instance, fresh.memory, context);
    if (shape) this.memories.recycle(moduleId, shape);
    this.instantiateSoon(moduleId, metered, shape);
    return { end, instance: fresh.instance };
  }

  /**
   * A run on the module's one instance, put back in its fresh state first (wasm/resettable.ts):
   * its memory all zero (zeroed after every job), then its data segments and mutable globals
   * reset. A memory that the job grew is dropped with its instance, as a worker drops it.
   */
  private runReusing(moduleId: number, metered: WebAssembly.Module, shape: MemoryShape, stdin: Uint8Array, context: RunContext): Ran | undefined {
    const kept = this.reusableFor(moduleId, metered, shape);
    if (!kept) return undefined;
    try {
      kept.reset();
    } catch {
      this.reusable.delete(moduleId);
      return undefined;
    }
    const end = this.host.run(metered, stdin, kept.instance, kept.memory, context);
    if (kept.memory.buffer.byteLength > shape.initial * PAGE_BYTES) this.reusable.delete(moduleId);
    else new Uint8Array(kept.memory.buffer).fill(0);
    return { end, instance: kept.instance };
  }

  /** The module's kept instance, or a new one (at most KEPT_MEMORIES modules keep one). */
  private reusableFor(moduleId: number, metered: WebAssembly.Module, shape: MemoryShape): Reusable | undefined {
    let kept = this.reusable.get(moduleId);
    if (kept?.metered === metered) {
      this.reusable.delete(moduleId); // re-inserted below: the map is in least-recent-first order
    } else {
      const memory = new WebAssembly.Memory(shape);
      let instance: WebAssembly.Instance;
      try {
        instance = this.host.instantiate(metered, memory);
      } catch {
        return undefined;
      }
      kept = { metered, instance, memory, reset: instance.exports[RESET_EXPORT] as () => void };
    }
    this.reusable.set(moduleId, kept);
    for (const oldest of this.reusable.keys()) {
      if (this.reusable.size <= KEPT_MEMORIES) break;
      this.reusable.delete(oldest);
    }
    return kept;
  }

  /** A fresh instance on the module's zeroed memory (its data segments applied), or undefined if it cannot be made. */
  private instantiate(moduleId: number, metered: WebAssembly.Module, shape: MemoryShape | undefined): Fresh | undefined {
    const memory = shape && this.memoryFor(moduleId, shape);
    try {
      return { moduleId, metered, shape, memory, instance: this.host.instantiate(metered, memory) };
    } catch {
      if (shape) this.memories.recycle(moduleId, shape);
      return undefined;
    }
  }

  /** The instance made ahead if it is of `metered`; one of another module is dropped, its memory zeroed. */
  private takeAhead(metered: WebAssembly.Module): Fresh | undefined {
    const ahead = this.ahead;
    this.ahead = undefined;
    if (!ahead || ahead.metered === metered) return ahead;
    if (ahead.shape) this.memories.recycle(ahead.moduleId, ahead.shape);
    return undefined;
  }

  /**
   * Instantiating costs a third of a small job here: the next instance of the module just run is
   * made once this turn of the event loop is done (its answer written), off the next job's path.
   * Every job still gets a fresh, never-run instance.
   */
  private instantiateSoon(moduleId: number, metered: WebAssembly.Module, shape: MemoryShape | undefined): void {
    this.next = { moduleId, metered, shape };
    if (this.aheadScheduled) return;
    this.aheadScheduled = true;
    setImmediate(() => {
      this.aheadScheduled = false;
      const next = this.next;
      this.next = undefined;
      if (next && !this.ahead) this.ahead = this.instantiate(next.moduleId, next.metered, next.shape);
    });
  }

  /** The module's kept memory, keeping at most KEPT_MEMORIES modules' (the least recent dropped). */
  private memoryFor(moduleId: number, shape: MemoryShape): WebAssembly.Memory {
    const at = this.memoryOwners.indexOf(moduleId);
    if (at >= 0) this.memoryOwners.splice(at, 1);
    this.memoryOwners.push(moduleId);
    if (this.memoryOwners.length > KEPT_MEMORIES) this.memories.forget(this.memoryOwners.shift()!);
    return this.memories.take(moduleId, shape);
  }
}
