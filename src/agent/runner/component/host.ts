/**
 * Our own host of WASI 0.2 for component jobs: the import object that jco's transpiled glue (in
 * `instantiation: 'sync'` mode) takes every capability from. It denies by default: a job gets
 * stdin from a buffer, stdout and stderr captured (through the same sinks and output limit as
 * preview1 modules), the run's arguments and environment and nothing of the agent's own, clocks,
 * random bytes, no terminal, and a filesystem only over its own in-memory tree (see filesystem.ts).
 * No sockets, no HTTP: the agent refuses components that import them at upload.
 *
 * One host per worker thread, reused from run to run: `beginRun` resets its state. Errors follow
 * jco's conventions: a thrown plain value is the `err` payload of a `result`; a thrown Error is
 * never turned into one, so the exit and output-limit signals below unwind the whole run.
 */
import { randomFillSync } from 'node:crypto';
import type { FsImage } from '../memfs';
import type { OutputSink, WasiEnd } from '../wasi';
import { ComponentFilesystem } from './filesystem';
import { clampLength, InputStream, IoError, OutputStream, poll, Pollable, type ByteSource, type ByteTarget } from './io';

/** What one run gets. */
export interface ComponentRunContext {
  stdin: Uint8Array;
  /** argv, argv[0] (the job's name) included. */
  args: readonly string[];
  /** `KEY=VALUE` entries: exactly the run's environment, nothing of the agent's. */
  env: readonly string[];
  /** The version's files, the job's tree for this run (see filesystem.ts). */
  files?: FsImage;
  /** The job's memory limit, which its tree's bytes count against. */
  memoryBytes?: number;
}

/** wasi:cli/exit called: unwinds the guest. An Error, so the glue never takes it for an err payload. */
export class ComponentExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
/** A write past the output limit: the job is stopped there. */
class OutputLimitReached extends Error {}

const EMPTY = new Uint8Array(0);

/** Terminals exist as types only: a job never has one (get-terminal-* answer none). */
class TerminalInput {}
class TerminalOutput {}

// ---- the host -----------------------------------------------------------------------------------

export class ComponentHost {
  /** Built once per thread; what it hands out reads the current run's state. */
  readonly imports: Record<string, Record<string, unknown>>;
  private context: ComponentRunContext = { stdin: EMPTY, args: [], env: [] };
  private stdinOffset = 0;
  private filesystem = new ComponentFilesystem(undefined);
  private readonly stdinSource: ByteSource = { read: (max) => this.readStdin(max) };
  private readonly stdoutTarget: ByteTarget;
  private readonly stderrTarget: ByteTarget;
  private stdin: InputStream;
  private stdout: OutputStream;
  private stderr: OutputStream;

  constructor(stdoutSink: OutputSink, stderrSink: OutputSink) {
    const sinkTarget = (sink: OutputSink): ByteTarget => ({
      write(chunk) {
        if (sink.write(chunk) < chunk.length) throw new OutputLimitReached('output limit reached');
      },
    });
    this.stdoutTarget = sinkTarget(stdoutSink);
    this.stderrTarget = sinkTarget(stderrSink);
    this.stdin = new InputStream(this.stdinSource);
    this.stdout = new OutputStream(this.stdoutTarget);
    this.stderr = new OutputStream(this.stderrTarget);
    this.imports = this.interfaces();
  }

  /**
   * Resets per-run state; call before instantiating the component for the run. `guestBytes`: the
   * bytes of the job's memories now, which its files share the memory limit with.
   *
   * The streams are new objects every run: the glue marks each resource object it is handed with a
   * symbol of its own instance, so streams kept from run to run would gain a property per run
   * (without end) and carry marks of earlier runs' instances.
   */
  beginRun(context: ComponentRunContext, guestBytes: () => number = () => 0): void {
    this.context = context;
    this.stdinOffset = 0;
    const { files, memoryBytes } = context;
    this.filesystem = new ComponentFilesystem(files && { image: files, memoryLimitBytes: memoryBytes, guestBytes });
    this.stdin = new InputStream(this.stdinSource);
    this.stdout = new OutputStream(this.stdoutTarget);
    this.stderr = new OutputStream(this.stderrTarget);
  }

  /** Drops the run's references (its input, files) once it ended. */
  endRun(): void {
    this.context = { stdin: EMPTY, args: [], env: [] };
    this.filesystem = new ComponentFilesystem(undefined);
  }

  private readStdin(max: number): Uint8Array | undefined {
    const { stdin } = this.context;
    if (this.stdinOffset >= stdin.length) return undefined;
    const chunk = stdin.slice(this.stdinOffset, this.stdinOffset + max);
    this.stdinOffset += chunk.length;
    return chunk;
  }

  /** The import object, keyed as jco's glue asks for it: the interface name without its version. */
  private interfaces(): Record<string, Record<string, unknown>> {
    const none = (): undefined => undefined;
    const fs = (): ComponentFilesystem => this.filesystem;
    return {
      'wasi:cli/environment': {
        getEnvironment: () => this.context.env.map(splitEnvEntry),
        getArguments: () => [...this.context.args],
        initialCwd: () => (this.context.files ? '/' : undefined),
      },
      'wasi:cli/exit': {
        exit: (status: { tag: 'ok' | 'err' }) => {
          throw new ComponentExit(status.tag === 'ok' ? 0 : 1);
        },
        exitWithCode: (code: number) => {
          throw new ComponentExit(code);
        },
      },
      'wasi:cli/stdin': { getStdin: () => this.stdin },
      'wasi:cli/stdout': { getStdout: () => this.stdout },
      'wasi:cli/stderr': { getStderr: () => this.stderr },
      'wasi:cli/terminal-input': { TerminalInput },
      'wasi:cli/terminal-output': { TerminalOutput },
      'wasi:cli/terminal-stdin': { getTerminalStdin: none },
      'wasi:cli/terminal-stdout': { getTerminalStdout: none },
      'wasi:cli/terminal-stderr': { getTerminalStderr: none },
      'wasi:io/error': { Error: IoError },
      'wasi:io/poll': { Pollable, poll },
      'wasi:io/streams': { InputStream, OutputStream },
      'wasi:clocks/monotonic-clock': {
        now: () => process.hrtime.bigint(),
        resolution: () => 1n,
        subscribeInstant: (when: bigint) => new Pollable(when),
        subscribeDuration: (duration: bigint) => new Pollable(process.hrtime.bigint() + duration),
      },
      'wasi:clocks/wall-clock': {
        now: () => wallClockNow(),
        resolution: () => ({ seconds: 0n, nanoseconds: 1_000_000 }),
      },
      'wasi:random/random': { getRandomBytes: randomBytes, getRandomU64: randomU64 },
      'wasi:random/insecure': { getInsecureRandomBytes: randomBytes, getInsecureRandomU64: randomU64 },
      'wasi:random/insecure-seed': { insecureSeed: () => [randomU64(), randomU64()] },
      'wasi:filesystem/preopens': { getDirectories: () => fs().preopens() },
      'wasi:filesystem/types': ComponentFilesystem.typesInterface(),
    };
  }

  /** How a run ended, from what its `run` export returned or threw. */
  static endOf(error: unknown): WasiEnd {
    if (error instanceof ComponentExit) return { kind: 'exited', exitCode: error.code, outputLimited: false };
    if (error instanceof OutputLimitReached) return { kind: 'exited', exitCode: 0, outputLimited: true };
    // `run` returned err: the glue throws its payload, which for wasi:cli/run is nothing.
    if (error === undefined) return { kind: 'exited', exitCode: 1, outputLimited: false };
    if (error instanceof WebAssembly.RuntimeError || error instanceof RangeError) return { kind: 'trapped', trap: error.message };
    if (error instanceof Error) return { kind: 'trapped', trap: `${error.name}: ${error.message}` };
    return { kind: 'trapped', trap: String(error) };
  }
}

function splitEnvEntry(entry: string): [string, string] {
  const equals = entry.indexOf('=');
  return equals < 0 ? [entry, ''] : [entry.slice(0, equals), entry.slice(equals + 1)];
}

function wallClockNow(): { seconds: bigint; nanoseconds: number } {
  const ms = Date.now();
  return { seconds: BigInt(Math.floor(ms / 1000)), nanoseconds: (ms % 1000) * 1_000_000 };
}

/** At most 1 MiB per call: the guest asks with a u64, and wasi-libc never asks for more than 256 bytes. */
const RANDOM_CHUNK_LIMIT = 1 << 20;
function randomBytes(len: bigint): Uint8Array {
  const length = clampLength(len);
  if (length > RANDOM_CHUNK_LIMIT) throw new RangeError(`get-random-bytes asked for ${length} bytes, more than ${RANDOM_CHUNK_LIMIT} at once`);
  return randomFillSync(new Uint8Array(length));
}

const u64Cell = new BigUint64Array(1);
function randomU64(): bigint {
  randomFillSync(u64Cell);
  return u64Cell[0]!;
}
