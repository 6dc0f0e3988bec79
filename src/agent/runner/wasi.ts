/**
 * Our own host of WASI preview1 (`wasi_snapshot_preview1`), for jobs: pure JS, no dependency.
 *
 * Why not node:wasi: on Node 20 it crashes the whole process when a compiled module is reused
 * under load (nodejs/node#46777, #52402), and in an extension host that is every extension.
 *
 * What a job gets: stdin from an in-memory buffer (fd 0), stdout and stderr captured (fd 1, 2),
 * no arguments, no environment, no preopened directories, clocks, random bytes and sleeps.
 * Every other function of the API exists (so any WASI command links) and answers the errno that
 * a program would get on a system with nothing else to offer.
 */
import { randomFillSync } from 'node:crypto';
import { WASI_MODULE, type WasmInfo } from '../../wasm/inspect';
import { importsWithMemory } from './jobMemory';

/** Where fd 1 or fd 2 goes. Returns how many bytes it took: fewer than given means it is full. */
export interface OutputSink {
  write(chunk: Uint8Array): number;
}

/** How a run of `_start` ended. */
export type WasiEnd =
  | { kind: 'exited'; exitCode: number; /** a sink was full: the job was stopped there */ outputLimited: boolean }
  | { kind: 'trapped'; trap: string };

/** WASI errno values used here (see the preview1 witx). */
const enum Errno {
  Success = 0,
  Badf = 8,
  Fault = 21,
  Inval = 28,
  Nosys = 52,
  Notdir = 54,
  Notsock = 57,
  Notsup = 58,
  Spipe = 70,
}

const enum Filetype {
  Unknown = 0,
}

const enum Clock {
  Realtime = 0,
  Monotonic = 1,
  ProcessCputime = 2,
  ThreadCputime = 3,
}

// Rights of the stdio descriptors: read or write, and poll. No seek/tell, which also tells libc
// that the descriptor is not a terminal, so stdout is fully buffered: fewer, bigger fd_write calls.
const RIGHT_FD_READ = 1n << 1n;
const RIGHT_FD_WRITE = 1n << 6n;
const RIGHT_POLL_FD_READWRITE = 1n << 27n;

const EVENT_TYPE_CLOCK = 0;
const SUBSCRIPTION_CLOCK_ABSTIME = 1;
const SUBSCRIPTION_SIZE = 48;
const EVENT_SIZE = 32;

/** Thrown by proc_exit to unwind the guest's stack; not an Error, so no stack trace is captured. */
class ProcExit {
  constructor(readonly code: number) {}
}
/** Thrown by fd_write when a sink is full: the job is stopped at the output limit. */
const OUTPUT_LIMIT_REACHED = Symbol('output limit reached');
/** Thrown by the memory accessors on a pointer outside the guest's memory; becomes EFAULT. */
const MEMORY_FAULT = Symbol('memory fault');

/**
 * Sleeps block the thread: in a worker that is what a sleeping job should do (terminate() still
 * ends it, so the job's time limit bounds every sleep). Slept in steps: Atomics.wait returns at
 * once for a timeout past ~2^63 ns, which made the longest sleeps the shortest.
 */
const sleepCell = new Int32Array(new SharedArrayBuffer(4));
const SLEEP_STEP_MS = 60_000;
function sleepNanoseconds(ns: bigint): void {
  if (ns <= 0n) return;
  const wakeAt = process.hrtime.bigint() + ns;
  for (let left = ns; left > 0n; left = wakeAt - process.hrtime.bigint()) {
    Atomics.wait(sleepCell, 0, 0, Math.min(Number(left) / 1e6, SLEEP_STEP_MS));
  }
}

const EMPTY = new Uint8Array(0);

type HostFunction = (...args: never[]) => number | void;

/** The names of every function of wasi_snapshot_preview1 that the host provides (all of them). */
export const WASI_FUNCTIONS: ReadonlySet<string> = new Set([
  'args_get', 'args_sizes_get', 'environ_get', 'environ_sizes_get', 'clock_res_get', 'clock_time_get',
  'fd_advise', 'fd_allocate', 'fd_close', 'fd_datasync', 'fd_fdstat_get', 'fd_fdstat_set_flags',
  'fd_fdstat_set_rights', 'fd_filestat_get', 'fd_filestat_set_size', 'fd_filestat_set_times', 'fd_pread',
  'fd_prestat_get', 'fd_prestat_dir_name', 'fd_pwrite', 'fd_read', 'fd_readdir', 'fd_renumber', 'fd_seek',
  'fd_sync', 'fd_tell', 'fd_write', 'path_create_directory', 'path_filestat_get', 'path_filestat_set_times',
  'path_link', 'path_open', 'path_readlink', 'path_remove_directory', 'path_rename', 'path_symlink',
  'path_unlink_file', 'poll_oneoff', 'proc_exit', 'proc_raise', 'sched_yield', 'random_get', 'sock_accept',
  'sock_recv', 'sock_send', 'sock_shutdown',
]);

/** WASI imports that this host cannot satisfy (unknown names, or a non-function), one sentence. */
export function wasiImportProblems(info: WasmInfo): string[] {
  const unknown = info.imports.filter((i) => i.module === WASI_MODULE && (i.kind !== 'function' || !WASI_FUNCTIONS.has(i.name)));
  if (unknown.length === 0) return [];
  const names = unknown.map((i) => (i.kind === 'function' ? i.name : `${i.name} (a ${i.kind})`)).join(', ');
  return [`It imports ${names} from "${WASI_MODULE}", which WASI preview1 does not define; build it for wasm32-wasi (preview1).`];
}

/**
 * One WASI host, reused from job to job on one thread: `run` resets its state. The import
 * object is built once, so instantiating a job costs only the instance itself.
 */
export class WasiHost {
  readonly imports: WebAssembly.Imports;
  private memory: WebAssembly.Memory | undefined;
  private cachedBuffer: ArrayBuffer | undefined;
  private bytes: Uint8Array = EMPTY;
  private view = new DataView(new ArrayBuffer(0));
  private stdin: Uint8Array = EMPTY;
  private stdinOffset = 0;
  /** fds 0..2 closed by the job itself; fd_close on stdio is allowed, later use answers EBADF. */
  private closed = [false, false, false];
  private startedAt = 0n;

  constructor(
    private readonly stdout: OutputSink,
    private readonly stderr: OutputSink,
  ) {
    this.imports = { [WASI_MODULE]: this.functions() };
  }

  /**
   * Instantiates the module and runs its `_start` with this stdin. Never throws for the guest's sake.
   * `ahead` is an instance of `module` made earlier with these imports and never run (see instantiate);
   * `memory`, for a module that imports its memory (jobMemory.ts), the one to instantiate it with.
   */
  run(module: WebAssembly.Module, stdin: Uint8Array, ahead?: WebAssembly.Instance, memory?: WebAssembly.Memory): WasiEnd {
    this.reset(stdin);
    try {
      const instance = ahead ?? this.instantiate(module, memory);
      this.memory = instance.exports.memory as WebAssembly.Memory;
      (instance.exports._start as () => void)();
      return { kind: 'exited', exitCode: 0, outputLimited: false };
    } catch (error) {
      return endOf(error);
    } finally {
      this.memory = undefined;
      this.cachedBuffer = undefined;
      this.bytes = EMPTY;
      this.stdin = EMPTY;
    }
  }

  /**
   * A fresh instance for one run. Only for modules without a start section: it runs no guest code,
   * so it can be made before the job it is for.
   */
  instantiate(module: WebAssembly.Module, memory?: WebAssembly.Memory): WebAssembly.Instance {
    return new WebAssembly.Instance(module, memory ? importsWithMemory(this.imports, memory) : this.imports);
  }

  private reset(stdin: Uint8Array): void {
    this.stdin = stdin;
    this.stdinOffset = 0;
    this.closed = [false, false, false];
    this.startedAt = process.hrtime.bigint();
  }

  // ---- guest memory -------------------------------------------------------------------------

  /** Refreshes the views when memory.grow replaced the buffer. */
  private mem(): void {
    const buffer = this.memory?.buffer;
    if (buffer === this.cachedBuffer) return;
    if (!buffer) throw new Error('the module did not export its memory before calling WASI');
    this.cachedBuffer = buffer;
    this.bytes = new Uint8Array(buffer);
    this.view = new DataView(buffer);
  }

  private check(ptr: number, length: number): void {
    if (ptr + length > this.bytes.length) throw MEMORY_FAULT;
  }

  private u32(ptr: number): number {
    this.check(ptr, 4);
    return this.view.getUint32(ptr, true);
  }

  private setU32(ptr: number, value: number): void {
    this.check(ptr, 4);
    this.view.setUint32(ptr, value, true);
  }

  private setU64(ptr: number, value: bigint): void {
    this.check(ptr, 8);
    this.view.setBigUint64(ptr, value, true);
  }

  private slice(ptr: number, length: number): Uint8Array {
    this.check(ptr, length);
    return this.bytes.subarray(ptr, ptr + length);
  }

  // ---- descriptors --------------------------------------------------------------------------

  private isOpenStdio(fd: number): boolean {
    return fd >= 0 && fd <= 2 && !this.closed[fd];
  }

  /** For calls that need a kind of descriptor we never have: `stdioErrno` for stdio, EBADF for the rest. */
  private unsupported(fd: number, stdioErrno: Errno): Errno {
    return this.isOpenStdio(fd) ? stdioErrno : Errno.Badf;
  }

  private sinkOf(fd: number): OutputSink | undefined {
    if (!this.isOpenStdio(fd)) return undefined;
    return fd === 1 ? this.stdout : fd === 2 ? this.stderr : undefined;
  }

  private fdWrite(fd: number, iovs: number, iovsLength: number, writtenPtr: number): Errno {
    const sink = this.sinkOf(fd);
    if (!sink) return Errno.Badf;
    this.mem();
    let written = 0;
    for (let i = 0; i < iovsLength; i++) {
      const chunk = this.slice(this.u32(iovs + i * 8), this.u32(iovs + i * 8 + 4));
      const taken = sink.write(chunk);
      written += taken;
      if (taken < chunk.length) throw OUTPUT_LIMIT_REACHED;
    }
    this.setU32(writtenPtr, written);
    return Errno.Success;
  }

  private fdRead(fd: number, iovs: number, iovsLength: number, readPtr: number): Errno {
    // stdout and stderr are open but not readable: EBADF, as for a descriptor without the read right.
    if (fd !== 0 || !this.isOpenStdio(fd)) return Errno.Badf;
    this.mem();
    let read = 0;
    for (let i = 0; i < iovsLength && this.stdinOffset < this.stdin.length; i++) {
      const target = this.slice(this.u32(iovs + i * 8), this.u32(iovs + i * 8 + 4));
      const chunk = this.stdin.subarray(this.stdinOffset, this.stdinOffset + target.length);
      target.set(chunk);
      this.stdinOffset += chunk.length;
      read += chunk.length;
    }
    this.setU32(readPtr, read);
    return Errno.Success;
  }

  private fdFdstatGet(fd: number, ptr: number): Errno {
    if (!this.isOpenStdio(fd)) return Errno.Badf;
    this.mem();
    this.check(ptr, 24);
    this.bytes.fill(0, ptr, ptr + 24);
    this.bytes[ptr] = Filetype.Unknown;
    this.setU64(ptr + 8, (fd === 0 ? RIGHT_FD_READ : RIGHT_FD_WRITE) | RIGHT_POLL_FD_READWRITE);
    return Errno.Success;
  }

  private fdFilestatGet(fd: number, ptr: number): Errno {
    if (!this.isOpenStdio(fd)) return Errno.Badf;
    this.mem();
    this.check(ptr, 64);
    this.bytes.fill(0, ptr, ptr + 64);
    this.bytes[ptr + 16] = Filetype.Unknown;
    return Errno.Success;
  }

  private fdClose(fd: number): Errno {
    if (!this.isOpenStdio(fd)) return Errno.Badf;
    this.closed[fd] = true;
    return Errno.Success;
  }

  // ---- time, randomness, polling --------------------------------------------------------------

  private now(clock: number): bigint | undefined {
    switch (clock) {
      case Clock.Realtime:
        return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
      case Clock.Monotonic:
        return process.hrtime.bigint();
      case Clock.ProcessCputime:
      case Clock.ThreadCputime:
        // Wall time since the job started: an upper bound of its CPU time, and monotonic.
        return process.hrtime.bigint() - this.startedAt;
      default:
        return undefined;
    }
  }

  private clockTimeGet(clock: number, ptr: number): Errno {
    const time = this.now(clock);
    if (time === undefined) return Errno.Inval;
    this.mem();
    this.setU64(ptr, time);
    return Errno.Success;
  }

  private clockResGet(clock: number, ptr: number): Errno {
    if (this.now(clock) === undefined) return Errno.Inval;
    this.mem();
    this.setU64(ptr, 1000n);
    return Errno.Success;
  }

  private randomGet(ptr: number, length: number): Errno {
    this.mem();
    randomFillSync(this.slice(ptr, length));
    return Errno.Success;
  }

  /**
   * Descriptor subscriptions are ready at once (stdin is in memory, stdout/stderr never block), so
   * they are answered without waiting; otherwise the thread sleeps until the earliest clock
   * subscription is due and reports every clock that is due by then.
   *
   * The subscriptions are read in two passes over one copy of their bytes (the events may be
   * written over them), never as one object each: the host's memory for a call stays within the
   * guest's own, which the job's memory limit bounds (3M subscriptions cost ~800 MB as objects).
   */
  private pollOneoff(inPtr: number, outPtr: number, count: number, eventsPtr: number): Errno {
    if (count === 0) return Errno.Inval;
    this.mem();
    this.check(outPtr, count * EVENT_SIZE);
    const input = new DataView(this.slice(inPtr, count * SUBSCRIPTION_SIZE).slice().buffer);
    const subscription = (i: number): Subscription => this.readSubscription(input, i * SUBSCRIPTION_SIZE);
    const clocksAt = [Clock.Realtime, Clock.Monotonic, Clock.ProcessCputime, Clock.ThreadCputime].map((c) => this.now(c)!);
    let hasDescriptors = false;
    let soonest: bigint | undefined;
    for (let i = 0; i < count; i++) {
      const s = subscription(i);
      if (s.tag !== EVENT_TYPE_CLOCK) hasDescriptors = true;
      else {
        const waitNs = nanosecondsUntil(s, clocksAt);
        if (soonest === undefined || waitNs < soonest) soonest = waitNs;
      }
    }
    if (!hasDescriptors) sleepNanoseconds(soonest ?? 0n);
    this.mem(); // a sleep cannot grow memory, but keep the invariant simple
    let written = 0;
    for (let i = 0; i < count; i++) {
      const s = subscription(i);
      let event: PollEvent | undefined;
      if (hasDescriptors) {
        if (s.tag !== EVENT_TYPE_CLOCK) event = this.descriptorEvent(s);
      } else if (nanosecondsUntil(s, clocksAt) <= soonest!) {
        event = { userdata: s.userdata, error: s.clockValid ? Errno.Success : Errno.Inval, type: EVENT_TYPE_CLOCK, nbytes: 0n };
      }
      if (event) this.writeEvent(outPtr + written++ * EVENT_SIZE, event);
    }
    this.setU32(eventsPtr, written);
    return Errno.Success;
  }

  private readSubscription(view: DataView, ptr: number): Subscription {
    const tag = view.getUint8(ptr + 8);
    const userdata = view.getBigUint64(ptr, true);
    if (tag !== EVENT_TYPE_CLOCK) return { userdata, tag, fd: view.getUint32(ptr + 16, true), clockValid: true, timeout: 0n, absolute: false, clock: 0 };
    const clock = view.getUint32(ptr + 16, true);
    return {
      userdata,
      tag,
      fd: -1,
      clock,
      clockValid: clock <= Clock.ThreadCputime,
      timeout: view.getBigUint64(ptr + 24, true),
      absolute: (view.getUint16(ptr + 40, true) & SUBSCRIPTION_CLOCK_ABSTIME) !== 0,
    };
  }

  private descriptorEvent(s: Subscription): PollEvent {
    const isRead = s.tag === 1;
    const ready = isRead ? s.fd === 0 && this.isOpenStdio(0) : this.sinkOf(s.fd) !== undefined;
    const nbytes = isRead && ready ? BigInt(this.stdin.length - this.stdinOffset) : 0n;
    return { userdata: s.userdata, error: ready ? Errno.Success : Errno.Badf, type: s.tag, nbytes };
  }

  private writeEvent(ptr: number, event: PollEvent): void {
    this.bytes.fill(0, ptr, ptr + EVENT_SIZE);
    this.view.setBigUint64(ptr, event.userdata, true);
    this.view.setUint16(ptr + 8, event.error, true);
    this.bytes[ptr + 10] = event.type;
    this.view.setBigUint64(ptr + 16, event.nbytes, true);
  }

  // ---- the import object ----------------------------------------------------------------------

  /** Every preview1 function; a bad pointer from the guest answers EFAULT instead of trapping the host. */
  private functions(): WebAssembly.ModuleImports {
    const emptyList = (countPtr: number, sizePtr: number): Errno => {
      this.mem();
      this.setU32(countPtr, 0);
      this.setU32(sizePtr, 0);
      return Errno.Success;
    };
    const noDirectories = (fd: number): Errno => this.unsupported(fd, Errno.Notdir);
    const noSockets = (fd: number): Errno => this.unsupported(fd, Errno.Notsock);
    const notSeekable = (fd: number): Errno => this.unsupported(fd, Errno.Spipe);
    const implementations: Record<string, HostFunction> = {
      args_get: () => Errno.Success,
      args_sizes_get: emptyList,
      environ_get: () => Errno.Success,
      environ_sizes_get: emptyList,
      clock_res_get: (clock: number, ptr: number) => this.clockResGet(clock, ptr),
      clock_time_get: (clock: number, _precision: bigint, ptr: number) => this.clockTimeGet(clock, ptr),
      fd_advise: notSeekable,
      fd_allocate: notSeekable,
      fd_close: (fd: number) => this.fdClose(fd),
      fd_datasync: (fd: number) => this.unsupported(fd, Errno.Inval),
      fd_fdstat_get: (fd: number, ptr: number) => this.fdFdstatGet(fd, ptr),
      // As wasmtime: only a file's flags can change, and stdio is no file (fcntl(F_SETFL) fails with EBADF).
      fd_fdstat_set_flags: () => Errno.Badf,
      // As wasmtime: rights are not enforced, so dropping some is a no-op that succeeds.
      fd_fdstat_set_rights: (fd: number) => (this.isOpenStdio(fd) ? Errno.Success : Errno.Badf),
      fd_filestat_get: (fd: number, ptr: number) => this.fdFilestatGet(fd, ptr),
      fd_filestat_set_size: (fd: number) => this.unsupported(fd, Errno.Inval),
      fd_filestat_set_times: (fd: number) => this.unsupported(fd, Errno.Inval),
      fd_pread: notSeekable,
      // No preopened directories: libc scans fds from 3 until EBADF and finds none.
      fd_prestat_get: () => Errno.Badf,
      fd_prestat_dir_name: () => Errno.Badf,
      fd_pwrite: notSeekable,
      fd_read: (fd: number, iovs: number, count: number, ptr: number) => this.fdRead(fd, iovs, count, ptr),
      fd_readdir: noDirectories,
      fd_renumber: (from: number, to: number) => (this.isOpenStdio(from) && this.isOpenStdio(to) ? Errno.Notsup : Errno.Badf),
      fd_seek: notSeekable,
      fd_sync: (fd: number) => this.unsupported(fd, Errno.Inval),
      fd_tell: notSeekable,
      fd_write: (fd: number, iovs: number, count: number, ptr: number) => this.fdWrite(fd, iovs, count, ptr),
      path_create_directory: noDirectories,
      path_filestat_get: noDirectories,
      path_filestat_set_times: noDirectories,
      path_link: noDirectories,
      path_open: noDirectories,
      path_readlink: noDirectories,
      path_remove_directory: noDirectories,
      path_rename: noDirectories,
      path_symlink: (_oldPath: number, _oldLength: number, fd: number) => noDirectories(fd),
      path_unlink_file: noDirectories,
      poll_oneoff: (inPtr: number, outPtr: number, count: number, ptr: number) => this.pollOneoff(inPtr, outPtr, count, ptr),
      proc_exit: (code: number) => {
        throw new ProcExit(code >>> 0);
      },
      proc_raise: () => Errno.Nosys,
      sched_yield: () => Errno.Success,
      random_get: (ptr: number, length: number) => this.randomGet(ptr, length),
      sock_accept: noSockets,
      sock_recv: noSockets,
      sock_send: noSockets,
      sock_shutdown: noSockets,
    };
    const imports: WebAssembly.ModuleImports = {};
    for (const [name, implementation] of Object.entries(implementations)) imports[name] = faultToErrno(implementation);
    return imports;
  }
}

interface Subscription {
  userdata: bigint;
  tag: number;
  fd: number;
  clock: number;
  clockValid: boolean;
  timeout: bigint;
  absolute: boolean;
}

/** How long until a clock subscription is due, from the clocks as read once at the call's start. */
function nanosecondsUntil(s: Subscription, clocksAt: readonly bigint[]): bigint {
  if (!s.clockValid) return 0n;
  if (!s.absolute) return s.timeout;
  const remaining = s.timeout - clocksAt[s.clock];
  return remaining > 0n ? remaining : 0n;
}

interface PollEvent {
  userdata: bigint;
  error: Errno;
  type: number;
  nbytes: bigint;
}

/**
 * Every i32 parameter of preview1 is unsigned (pointers, lengths, fds, flags), but reaches JS as a
 * signed number: a pointer at 2 GiB or above would be negative, pass the bounds check and name the
 * wrong bytes. Made unsigned here, once for every function.
 */
function faultToErrno(implementation: HostFunction): HostFunction {
  return (...args: never[]) => {
    for (let i = 0; i < args.length; i++) {
      if (typeof args[i] === 'number') (args as number[])[i] = (args[i] as number) >>> 0;
    }
    try {
      return implementation(...args);
    } catch (error) {
      if (error === MEMORY_FAULT) return Errno.Fault;
      throw error;
    }
  };
}

/** Maps what ended `_start` to an outcome: exit, output limit, or a trap with the engine's message. */
function endOf(error: unknown): WasiEnd {
  if (error instanceof ProcExit) return { kind: 'exited', exitCode: error.code, outputLimited: false };
  if (error === OUTPUT_LIMIT_REACHED) return { kind: 'exited', exitCode: 0, outputLimited: true };
  if (error instanceof WebAssembly.RuntimeError || error instanceof RangeError) return { kind: 'trapped', trap: error.message };
  if (error instanceof Error) return { kind: 'trapped', trap: `${error.name}: ${error.message}` };
  return { kind: 'trapped', trap: String(error) };
}

/** An in-memory sink: keeps everything (up to `limit` bytes), for runs on the main thread. */
export class MemorySink implements OutputSink {
  private buffer = new Uint8Array(4096);
  private length = 0;

  constructor(private readonly limit = Number.POSITIVE_INFINITY) {}

  write(chunk: Uint8Array): number {
    const taken = Math.min(chunk.length, this.limit - this.length);
    if (this.length + taken > this.buffer.length) {
      const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + taken));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    this.buffer.set(taken === chunk.length ? chunk : chunk.subarray(0, taken), this.length);
    this.length += taken;
    return taken;
  }

  /** What was written since the last take, as a copy of its own. */
  take(): Uint8Array {
    const result = this.buffer.slice(0, this.length);
    this.length = 0;
    return result;
  }
}
