/**
 * The hot hand-off between the pool and one job worker, in a SharedArrayBuffer that both threads
 * see: the pool writes the job (module id, stdin) and wakes the worker with Atomics.notify; the
 * worker, blocked in Atomics.wait, runs it, writes how it ended and wakes the pool back, which
 * learns of it through Atomics.waitAsync.
 *
 * Each worker has two channels (its lanes, protocol.ts) and takes jobs from them in turn: while
 * one job runs, the pool can put the next in the other lane, and the worker goes straight on to it
 * instead of sleeping and being woken again. Such a job can be taken back until the worker starts
 * it (CLAIM).
 *
 * Why not a postMessage per job: each one structured-clones its message, wakes the other thread's
 * event loop and dispatches an event there; under load that hand-off was a sixth of the agent's
 * CPU. A futex wake-up and a few Int32 stores cost a fraction of it. Messages remain for what
 * shared memory cannot carry: a compiled module (once per worker and module) and a stdin larger
 * than the shared buffer (see JobMessage in protocol.ts).
 */
import type { WasiEnd } from './wasi';

/** ES2024's Atomics.waitAsync (Node 16 and later have it; the ES2022 lib does not type it). */
interface AtomicsWithWaitAsync {
  waitAsync(
    cells: Int32Array,
    index: number,
    value: number,
  ): { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
}

// Int32 cells of the header.
const STATE = 0;
const MODULE_ID = 1;
/** Bytes of stdin in the buffer, or -1: stdin is in the job's message. */
const STDIN_LENGTH = 2;
/** 1: the pool posted a JobMessage for this job; the worker takes it before running. */
const HAS_MESSAGE = 3;
const END_KIND = 4;
const EXIT_CODE = 5;
const OUTPUT_LIMITED = 6;
const TRAP_LENGTH = 7;
/** Bytes of the run's context (argv, environment) before stdin in the buffer; travels with stdin. */
const CONTEXT_LENGTH = 8;
/**
 * Who got a job handed over ahead (while the worker still ran another): the worker, which starts
 * it (CLAIMED), or the pool, which took it back before it started (WITHDRAWN). Compare-and-swap
 * from UNCLAIMED decides, so a job is never both run and given to someone else.
 */
const CLAIM = 9;
const HEADER_BYTES = 48;

const UNCLAIMED = 0;
const CLAIMED = 1;
const WITHDRAWN = 2;

/** Who holds the channel: the pool (between jobs) or the worker (running one). */
const IDLE = 0;
const RUNNING = 1;

const EXITED = 0;
const TRAPPED = 1;

/** Trap messages are engine sentences ("unreachable", "RangeError: ..."); a longer one is cut. */
const TRAP_CHARS = 1024;
/** Room for TRAP_CHARS UTF-16 units as UTF-8 (at most 3 bytes each). */
const TRAP_BYTES = 3 * TRAP_CHARS;
const STDIN_OFFSET = HEADER_BYTES + TRAP_BYTES;
/** Inputs up to this size travel in the channel; larger ones by message (shared, if given in a SharedArrayBuffer). */
const STDIN_SHARED_BYTES = 64 * 1024;
export const LARGE_STDIN_BYTES = STDIN_SHARED_BYTES + 1;

export function createJobChannelBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(STDIN_OFFSET + STDIN_SHARED_BYTES);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The pool's side of one worker's channel. */
export class JobChannel {
  private readonly cells: Int32Array;
  private readonly bytes: Uint8Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.cells = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.bytes = new Uint8Array(buffer);
  }

  /** Whether `stdin` and the run's context travel in shared memory; if not, they go in the job's message. */
  fits(stdin: Uint8Array, context: Uint8Array): boolean {
    return stdin.byteLength + context.byteLength <= STDIN_SHARED_BYTES;
  }

  /** Hands a job to the worker (its message, if any, already posted) and wakes it. */
  start(moduleId: number, stdin: Uint8Array, context: Uint8Array, hasMessage: boolean): void {
    const shared = this.fits(stdin, context);
    if (shared) {
      this.bytes.set(context, STDIN_OFFSET);
      this.bytes.set(stdin, STDIN_OFFSET + context.byteLength);
    }
    this.cells[MODULE_ID] = moduleId;
    this.cells[STDIN_LENGTH] = shared ? stdin.byteLength : -1;
    this.cells[CONTEXT_LENGTH] = shared ? context.byteLength : 0;
    this.cells[HAS_MESSAGE] = hasMessage ? 1 : 0;
    this.cells[CLAIM] = UNCLAIMED;
    // The store publishes the cells above to the worker (Atomics are sequentially consistent).
    Atomics.store(this.cells, STATE, RUNNING);
    Atomics.notify(this.cells, STATE);
  }

  /** No job in the channel: the worker gave the last one back (or none was handed over yet). */
  isIdle(): boolean {
    return Atomics.load(this.cells, STATE) === IDLE;
  }

  /**
   * Takes back a job handed over ahead, if the worker has not started it: true means it never will
   * (the worker skips it); false means it is running, or already ran.
   */
  withdraw(): boolean {
    return Atomics.compareExchange(this.cells, CLAIM, UNCLAIMED, WITHDRAWN) === UNCLAIMED;
  }

  /** The worker has started the job in the channel (it claimed it). */
  claimed(): boolean {
    return Atomics.load(this.cells, CLAIM) === CLAIMED;
  }

  /** Calls `done` once the worker has ended the running job (or `release` was called). */
  whenEnded(done: () => void): void {
    const wait = (Atomics as unknown as AtomicsWithWaitAsync).waitAsync(this.cells, STATE, RUNNING);
    if (wait.async) void wait.value.then(done);
    // Ended already, before we started waiting: still answer asynchronously, as always.
    else queueMicrotask(done);
  }

  /**
   * Blocks this thread until the running job ends or `timeoutMs` passes; true if it ended. For a
   * caller with nothing else to do (see JobRunner's INLINE_WAIT_MS): the worker's notify then
   * wakes this thread directly.
   */
  waitEnded(timeoutMs: number): boolean {
    return Atomics.wait(this.cells, STATE, RUNNING, timeoutMs) !== 'timed-out';
  }

  /** How the job ended; valid once it has. */
  end(): WasiEnd {
    if (this.cells[END_KIND] === EXITED) {
      return { kind: 'exited', exitCode: this.cells[EXIT_CODE]! >>> 0, outputLimited: this.cells[OUTPUT_LIMITED] === 1 };
    }
    const trap = this.bytes.slice(STDIN_OFFSET - TRAP_BYTES, STDIN_OFFSET - TRAP_BYTES + this.cells[TRAP_LENGTH]!);
    return { kind: 'trapped', trap: decoder.decode(trap) };
  }

  /**
   * Wakes a pending whenEnded of a worker that will never answer (terminated): the callback runs
   * and finds its job gone, instead of waiting forever and keeping this buffer alive.
   */
  release(): void {
    Atomics.store(this.cells, STATE, IDLE);
    Atomics.notify(this.cells, STATE);
  }
}

/** What nextJob answers for a job the pool took back before it started. */
export const WITHDRAWN_JOB = 'withdrawn';

/** A job as the worker sees it. */
export interface ChannelJob {
  moduleId: number;
  /** A view of shared memory, valid until the job ends; undefined: it is in the job's message. */
  stdin: Uint8Array | undefined;
  /** The run's encoded context (see encodeRunContext), with stdin in shared memory or the message. */
  context: Uint8Array | undefined;
  hasMessage: boolean;
}

/** The worker's side of its channel. */
export class WorkerJobChannel {
  private readonly cells: Int32Array;
  private readonly bytes: Uint8Array;

  constructor(buffer: SharedArrayBuffer) {
    this.cells = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.bytes = new Uint8Array(buffer);
  }

  /**
   * Blocks the thread until the pool hands over a job, or `timeoutMs` passes (then undefined).
   * A job the pool took back before it started is given back at once: WITHDRAWN.
   */
  nextJob(timeoutMs: number): ChannelJob | typeof WITHDRAWN_JOB | undefined {
    if (Atomics.wait(this.cells, STATE, IDLE, timeoutMs) === 'timed-out') return undefined;
    if (Atomics.compareExchange(this.cells, CLAIM, UNCLAIMED, CLAIMED) === WITHDRAWN) {
      this.giveBack();
      return WITHDRAWN_JOB;
    }
    const stdinLength = this.cells[STDIN_LENGTH]!;
    const contextLength = this.cells[CONTEXT_LENGTH]!;
    const stdinAt = STDIN_OFFSET + contextLength;
    return {
      moduleId: this.cells[MODULE_ID]!,
      stdin: stdinLength < 0 ? undefined : this.bytes.subarray(stdinAt, stdinAt + stdinLength),
      context: stdinLength < 0 ? undefined : this.bytes.subarray(STDIN_OFFSET, stdinAt),
      hasMessage: this.cells[HAS_MESSAGE] === 1,
    };
  }

  /** Writes how the job ended and gives the channel back to the pool. */
  finish(end: WasiEnd): void {
    if (end.kind === 'exited') {
      this.cells[END_KIND] = EXITED;
      this.cells[EXIT_CODE] = end.exitCode | 0; // a u32: read back with >>> 0
      this.cells[OUTPUT_LIMITED] = end.outputLimited ? 1 : 0;
    } else {
      this.cells[END_KIND] = TRAPPED;
      const trap = end.trap.length > TRAP_CHARS ? `${end.trap.slice(0, TRAP_CHARS - 3)}...` : end.trap;
      this.cells[TRAP_LENGTH] = encoder.encodeInto(trap, this.bytes.subarray(STDIN_OFFSET - TRAP_BYTES, STDIN_OFFSET)).written;
    }
    this.giveBack();
  }

  private giveBack(): void {
    Atomics.store(this.cells, STATE, IDLE);
    Atomics.notify(this.cells, STATE);
  }
}
