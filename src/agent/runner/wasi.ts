/**
 * Our own host of WASI preview1 (`wasi_snapshot_preview1`), for jobs: pure JS, no dependency.
 *
 * Why not node:wasi: on Node 20 it crashes the whole process when a compiled module is reused
 * under load (nodejs/node#46777, #52402), and in an extension host that is every extension.
 *
 * What a job gets: argv (its name first, then the run's arguments) and exactly the environment of
 * the run (never the agent's); stdin from an in-memory buffer (fd 0), stdout and stderr captured
 * (fd 1, 2); when its version has files, that tree preopened as `/` (fd 3), writable in memory for
 * this run only (wasiFiles.ts, memfs.ts); clocks, random bytes and sleeps. Sockets answer the
 * errno of a descriptor that is no socket.
 */
import { randomFillSync } from 'node:crypto';
import { WASI_MODULE, type WasmInfo } from '../../wasm/inspect';
import { GuestMemory, MEMORY_FAULT } from './guestMemory';
import type { LinkedExtension } from './extensions';
import { importsWithMemory } from './jobMemory';
import { type FsImage, jobTree } from './memfs';
import { Errno, WasiFiles } from './wasiFiles';

/** Where fd 1 or fd 2 goes. Returns how many bytes it took: fewer than given means it is full. */
export interface OutputSink {
  write(chunk: Uint8Array): number;
}

/** How a run of `_start` ended. */
export type WasiEnd =
  | { kind: 'exited'; exitCode: number; /** a sink was full: the job was stopped there */ outputLimited: boolean }
  | { kind: 'trapped'; trap: string };

const enum Clock {
  Realtime = 0,
  Monotonic = 1,
  ProcessCputime = 2,
  ThreadCputime = 3,
}

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
/** On the main thread, larger calls give the job back: each could hold the thread for milliseconds. */
const MAIN_THREAD_RANDOM_BYTES = 64 * 1024;
const MAIN_THREAD_SUBSCRIPTIONS = 64;

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

/** What one run gives the job besides stdin: argv, environment, files, and the memory limit they share. */
export interface RunContext {
  /** argv, the program name (the job's fully-qualified name) first. */
  args: readonly string[];
  /** `KEY=VALUE` entries, exactly these. */
  env: readonly string[];
  /** The tree preopened as `/`, if the version has files. */
  files?: FsImage;
  /** The job's memory limit: linear memory and the tree's bytes together stay within it. */
  memoryBytes?: number;
  /** Extensions to instantiate for this run and link by their names (extensions.ts). */
  extensions?: readonly LinkedExtension[];
}

const NO_CONTEXT: RunContext = { args: [], env: [] };
const encoder = new TextEncoder();

/**
 * One WASI host, reused from job to job on one thread: `run` resets its state. The import
 * object is built once, so instantiating a job costs only the instance itself.
 */
export class WasiHost {
  readonly imports: WebAssembly.Imports;
  private readonly mem = new GuestMemory();
  /**
   * With extensions linked: every linear memory of the run (the job's and each extension's), which
   * together stay within the job's memory limit, checked at each WASI call (each memory alone is
   * capped at the limit by its maximum; their sum can only be seen from here).
   */
  private linkedMemories: WebAssembly.Memory[] = [];
  private memoryLimitBytes = Number.POSITIVE_INFINITY;
  private readonly files: WasiFiles;
  private stdin: Uint8Array = EMPTY;
  private stdinOffset = 0;
  private args: Uint8Array[] = [];
  private env: Uint8Array[] = [];
  private startedAt = 0n;

  /**
   * `mainThread`: this host runs on a thread that must neither block nor stall (the agent's own:
   * mainThread.ts); a call that would sleep, or do a lot of work at once, gives the job back there.
   */
  constructor(
    private readonly stdout: OutputSink,
    private readonly stderr: OutputSink,
    private readonly mainThread?: { giveBack(): never },
  ) {
    this.files = new WasiFiles(this.mem, {
      readStdin: (into) => this.readStdin(into),
      stdinLeft: () => this.stdin.length - this.stdinOffset,
      write: (stream, chunk) => {
        const taken = (stream === 'stdout' ? this.stdout : this.stderr).write(chunk);
        if (taken < chunk.length) throw OUTPUT_LIMIT_REACHED;
        return taken;
      },
    });
    this.imports = { [WASI_MODULE]: this.functions() };
  }

  /**
   * Instantiates the module and runs its `_start` with this stdin. Never throws for the guest's sake.
   * `ahead` is an instance of `module` made earlier with these imports and never run (see instantiate);
   * `memory`, for a module that imports its memory (jobMemory.ts), the one to instantiate it with.
   */
  run(
    module: WebAssembly.Module,
    stdin: Uint8Array,
    ahead?: WebAssembly.Instance,
    memory?: WebAssembly.Memory,
    context: RunContext = NO_CONTEXT,
  ): WasiEnd {
    try {
      this.reset(stdin, context);
      const linked = context.extensions ? this.instantiateExtensions(context.extensions) : undefined;
      let jobMemory = memory;
      const instance = ahead ?? this.instantiate(module, memory, linked && { ...linked, [WASI_MODULE]: this.withMemory(() => jobMemory) });
      jobMemory = (instance.exports.memory as WebAssembly.Memory | undefined) ?? memory;
      this.mem.attach(jobMemory);
      if (linked && jobMemory) this.linkedMemories.push(jobMemory);
      this.checkLinkedMemories();
      (instance.exports._start as () => void)();
      return { kind: 'exited', exitCode: 0, outputLimited: false };
    } catch (error) {
      return endOf(error);
    } finally {
      this.mem.attach(undefined);
      this.linkedMemories = [];
      this.stdin = EMPTY;
      this.files.reset(undefined);
    }
  }

  /**
   * A fresh instance for one run. Only for modules without a start section: it runs no guest code,
   * so it can be made before the job it is for.
   */
  instantiate(module: WebAssembly.Module, memory?: WebAssembly.Memory, linked?: WebAssembly.Imports): WebAssembly.Instance {
    const imports = linked ? { ...this.imports, ...linked } : this.imports;
    return new WebAssembly.Instance(module, memory ? importsWithMemory(imports, memory) : imports);
  }

  /**
   * Fresh instances of the run's extensions, in order (a later one may import an earlier one), each
   * with this host's WASI functions reading and writing its own memory while it calls them.
   */
  private instantiateExtensions(extensions: readonly LinkedExtension[]): WebAssembly.Imports {
    const linked: WebAssembly.Imports = {};
    for (const extension of extensions) {
      let own: WebAssembly.Memory | undefined;
      const wasi = this.withMemory(() => own);
      const instance = new WebAssembly.Instance(extension.module, { ...linked, [WASI_MODULE]: wasi });
      own = instance.exports.memory as WebAssembly.Memory | undefined;
      if (own) this.linkedMemories.push(own);
      linked[extension.name] = instance.exports;
    }
    return linked;
  }

  /** The bytes of every linear memory of the run: the job's, and its extensions' when it links any. */
  private guestBytes(): number {
    if (this.linkedMemories.length === 0) return this.mem.size;
    return this.linkedMemories.reduce((sum, memory) => sum + memory.buffer.byteLength, 0);
  }

  /** Ends the job when it and its extensions hold more memory together than its limit. */
  private checkLinkedMemories(): void {
    const bytes = this.guestBytes();
    if (this.linkedMemories.length > 0 && bytes > this.memoryLimitBytes) {
      const mib = (n: number) => `${Math.ceil(n / (1 << 20))} MiB`;
      throw new WebAssembly.RuntimeError(`memory limit: the job and its extensions hold ${mib(bytes)} together, more than the job's limit of ${mib(this.memoryLimitBytes)}`);
    }
  }

  /**
   * The WASI functions, switched to one module's memory for the length of each call, for a run with
   * extensions (each module's calls read and write its own memory); each call first checks that
   * the run's memories together fit the job's limit.
   */
  private withMemory(memoryOf: () => WebAssembly.Memory | undefined): WebAssembly.ModuleImports {
    const wrapped: WebAssembly.ModuleImports = {};
    for (const [name, fn] of Object.entries(this.imports[WASI_MODULE]!)) {
      wrapped[name] = (...args: unknown[]) => {
        this.checkLinkedMemories();
        const saved = this.mem.current;
        this.mem.attach(memoryOf());
        try {
          return (fn as (...a: unknown[]) => unknown)(...args);
        } finally {
          this.mem.attach(saved);
        }
      };
    }
    return wrapped;
  }

  private reset(stdin: Uint8Array, context: RunContext): void {
    this.stdin = stdin;
    this.stdinOffset = 0;
    this.args = context.args.map((a) => encoder.encode(a));
    this.env = context.env.map((e) => encoder.encode(e));
    this.startedAt = process.hrtime.bigint();
    this.memoryLimitBytes = context.memoryBytes ?? Number.POSITIVE_INFINITY;
    this.linkedMemories = [];
    this.files.reset(context.files ? jobTree(context.files, context.memoryBytes, () => this.guestBytes()) : undefined);
  }

  private readStdin(into: Uint8Array): number {
    const chunk = this.stdin.subarray(this.stdinOffset, this.stdinOffset + into.length);
    into.set(chunk);
    this.stdinOffset += chunk.length;
    return chunk.length;
  }

  // ---- arguments and environment --------------------------------------------------------------

  /** args_sizes_get / environ_sizes_get: the count and the bytes of the NUL-terminated strings. */
  private listSizes(list: Uint8Array[], countPtr: number, sizePtr: number): Errno {
    this.mem.refresh();
    this.mem.setU32(countPtr, list.length);
    this.mem.setU32(sizePtr, list.reduce((sum, item) => sum + item.length + 1, 0));
    return Errno.Success;
  }

  /** args_get / environ_get: the pointers at `pointers`, the strings from `buffer` on. */
  private listGet(list: Uint8Array[], pointers: number, buffer: number): Errno {
    this.mem.refresh();
    let at = buffer;
    list.forEach((item, i) => {
      this.mem.setU32(pointers + i * 4, at);
      const target = this.mem.slice(at, item.length + 1);
      target.set(item);
      target[item.length] = 0;
      at += item.length + 1;
    });
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
    this.mem.refresh();
    this.mem.setU64(ptr, time);
    return Errno.Success;
  }

  private clockResGet(clock: number, ptr: number): Errno {
    if (this.now(clock) === undefined) return Errno.Inval;
    this.mem.refresh();
    this.mem.setU64(ptr, 1000n);
    return Errno.Success;
  }

  private randomGet(ptr: number, length: number): Errno {
    if (this.mainThread && length > MAIN_THREAD_RANDOM_BYTES) this.mainThread.giveBack();
    this.mem.refresh();
    randomFillSync(this.mem.slice(ptr, length));
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
    if (this.mainThread && count > MAIN_THREAD_SUBSCRIPTIONS) this.mainThread.giveBack();
    this.mem.refresh();
    this.mem.check(outPtr, count * EVENT_SIZE);
    const input = new DataView(this.mem.slice(inPtr, count * SUBSCRIPTION_SIZE).slice().buffer);
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
    if (!hasDescriptors && soonest !== undefined && soonest > 0n) {
      if (this.mainThread) this.mainThread.giveBack();
      sleepNanoseconds(soonest);
    }
    this.mem.refresh(); // a sleep cannot grow memory, but keep the invariant simple
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
    this.mem.setU32(eventsPtr, written);
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
    const state = this.files.pollReady(s.fd, isRead);
    const ready = state?.ready ?? false;
    return { userdata: s.userdata, error: ready ? Errno.Success : Errno.Badf, type: s.tag, nbytes: ready ? state!.nbytes : 0n };
  }

  private writeEvent(ptr: number, event: PollEvent): void {
    this.mem.bytes.fill(0, ptr, ptr + EVENT_SIZE);
    this.mem.setU64(ptr, event.userdata);
    this.mem.setU16(ptr + 8, event.error);
    this.mem.setU8(ptr + 10, event.type);
    this.mem.setU64(ptr + 16, event.nbytes);
  }

  // ---- the import object ----------------------------------------------------------------------

  /** Every preview1 function; a bad pointer from the guest answers EFAULT instead of trapping the host. */
  private functions(): WebAssembly.ModuleImports {
    const f = this.files;
    const implementations: Record<string, HostFunction> = {
      args_get: (pointers: number, buffer: number) => this.listGet(this.args, pointers, buffer),
      args_sizes_get: (countPtr: number, sizePtr: number) => this.listSizes(this.args, countPtr, sizePtr),
      environ_get: (pointers: number, buffer: number) => this.listGet(this.env, pointers, buffer),
      environ_sizes_get: (countPtr: number, sizePtr: number) => this.listSizes(this.env, countPtr, sizePtr),
      clock_res_get: (clock: number, ptr: number) => this.clockResGet(clock, ptr),
      clock_time_get: (clock: number, _precision: bigint, ptr: number) => this.clockTimeGet(clock, ptr),
      fd_advise: (fd: number, offset: bigint, length: bigint, advice: number) => f.fdAdvise(fd, offset, length, advice),
      fd_allocate: (fd: number, offset: bigint, length: bigint) => f.fdAllocate(fd, offset, length),
      fd_close: (fd: number) => f.fdClose(fd),
      fd_datasync: (fd: number) => f.fdSync(fd),
      fd_fdstat_get: (fd: number, ptr: number) => f.fdFdstatGet(fd, ptr),
      fd_fdstat_set_flags: (fd: number, flags: number) => f.fdFdstatSetFlags(fd, flags),
      fd_fdstat_set_rights: (fd: number, base: bigint, inheriting: bigint) => f.fdFdstatSetRights(fd, base, inheriting),
      fd_filestat_get: (fd: number, ptr: number) => f.fdFilestatGet(fd, ptr),
      fd_filestat_set_size: (fd: number, size: bigint) => f.fdFilestatSetSize(fd, size),
      fd_filestat_set_times: (fd: number, atim: bigint, mtim: bigint, flags: number) => f.fdFilestatSetTimes(fd, atim, mtim, flags),
      fd_pread: (fd: number, iovs: number, count: number, offset: bigint, ptr: number) => f.fdPread(fd, iovs, count, offset, ptr),
      fd_prestat_get: (fd: number, ptr: number) => f.fdPrestatGet(fd, ptr),
      fd_prestat_dir_name: (fd: number, ptr: number, length: number) => f.fdPrestatDirName(fd, ptr, length),
      fd_pwrite: (fd: number, iovs: number, count: number, offset: bigint, ptr: number) => f.fdPwrite(fd, iovs, count, offset, ptr),
      fd_read: (fd: number, iovs: number, count: number, ptr: number) => f.fdRead(fd, iovs, count, ptr),
      fd_readdir: (fd: number, buffer: number, length: number, cookie: bigint, ptr: number) => f.fdReaddir(fd, buffer, length, cookie, ptr),
      fd_renumber: (from: number, to: number) => f.fdRenumber(from, to),
      fd_seek: (fd: number, offset: bigint, whence: number, ptr: number) => f.fdSeek(fd, offset, whence, ptr),
      fd_sync: (fd: number) => f.fdSync(fd),
      fd_tell: (fd: number, ptr: number) => f.fdTell(fd, ptr),
      fd_write: (fd: number, iovs: number, count: number, ptr: number) => f.fdWrite(fd, iovs, count, ptr),
      path_create_directory: (fd: number, ptr: number, length: number) => f.pathCreateDirectory(fd, ptr, length),
      path_filestat_get: (fd: number, lookup: number, ptr: number, length: number, out: number) => f.pathFilestatGet(fd, lookup, ptr, length, out),
      path_filestat_set_times: (fd: number, lookup: number, ptr: number, length: number, atim: bigint, mtim: bigint, flags: number) =>
        f.pathFilestatSetTimes(fd, lookup, ptr, length, atim, mtim, flags),
      path_link: (oldFd: number, lookup: number, oldPtr: number, oldLength: number, newFd: number, newPtr: number, newLength: number) =>
        f.pathLink(oldFd, lookup, oldPtr, oldLength, newFd, newPtr, newLength),
      path_open: (
        fd: number,
        lookup: number,
        ptr: number,
        length: number,
        oflags: number,
        base: bigint,
        inheriting: bigint,
        fdflags: number,
        out: number,
      ) => f.pathOpen(fd, lookup, ptr, length, oflags, base, inheriting, fdflags, out),
      path_readlink: (fd: number, ptr: number, length: number, buffer: number, bufferLength: number, out: number) =>
        f.pathReadlink(fd, ptr, length, buffer, bufferLength, out),
      path_remove_directory: (fd: number, ptr: number, length: number) => f.pathRemoveDirectory(fd, ptr, length),
      path_rename: (fd: number, oldPtr: number, oldLength: number, newFd: number, newPtr: number, newLength: number) =>
        f.pathRename(fd, oldPtr, oldLength, newFd, newPtr, newLength),
      path_symlink: (oldPtr: number, oldLength: number, fd: number, newPtr: number, newLength: number) =>
        f.pathSymlink(oldPtr, oldLength, fd, newPtr, newLength),
      path_unlink_file: (fd: number, ptr: number, length: number) => f.pathUnlinkFile(fd, ptr, length),
      poll_oneoff: (inPtr: number, outPtr: number, count: number, ptr: number) => this.pollOneoff(inPtr, outPtr, count, ptr),
      proc_exit: (code: number) => {
        throw new ProcExit(code >>> 0);
      },
      proc_raise: () => Errno.Nosys,
      sched_yield: () => Errno.Success,
      random_get: (ptr: number, length: number) => this.randomGet(ptr, length),
      sock_accept: (fd: number) => f.notSocket(fd),
      sock_recv: (fd: number) => f.notSocket(fd),
      sock_send: (fd: number) => f.notSocket(fd),
      sock_shutdown: (fd: number) => f.notSocket(fd),
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

  /**
   * What was written since the last take, as a copy of its own: a small one from Node's shared
   * pool of buffers (no memory of its own to allocate, as for most jobs' output).
   */
  take(): Uint8Array {
    const result = Buffer.allocUnsafe(this.length);
    result.set(this.buffer.subarray(0, this.length));
    this.length = 0;
    return result;
  }
}
