/**
 * wasi:io for component jobs: streams over bytes in memory (stdin, stdout, stderr, files),
 * pollables that are ready at once or at a monotonic deadline, and the error resource. A stream
 * error is thrown as the plain `stream-error` value (jco's glue makes it the result's err payload).
 */
import type { FilesystemErrorCode } from './filesystem';

/** Bytes a stream accepts per write; what libc and the preview1 adapter use as a buffer size. */
const WRITE_PERMIT = 1n << 20n;
const CLOSED = { tag: 'closed' } as const;

/** Sleeps block the thread: in a worker that is what a sleeping job should do (terminate() still ends it). */
const sleepCell = new Int32Array(new SharedArrayBuffer(4));
export function sleepUntil(deadlineNs: bigint): void {
  const waitNs = deadlineNs - process.hrtime.bigint();
  if (waitNs > 0n) Atomics.wait(sleepCell, 0, 0, Number(waitNs) / 1e6);
}

export class IoError {
  /** `filesystemCode`: what wasi:filesystem's filesystem-error-code says of an error of a file's stream. */
  constructor(
    private readonly message: string,
    readonly filesystemCode?: FilesystemErrorCode,
  ) {}
  toDebugString(): string {
    return this.message;
  }
}

/** A stream operation failed (not a closed stream): the `last-operation-failed` stream error. */
export function streamFailure(error: IoError): { tag: 'last-operation-failed'; val: IoError } {
  return { tag: 'last-operation-failed', val: error };
}

/** Ready at once (streams in memory never wait), or at a monotonic deadline (clocks). */
export class Pollable {
  constructor(readonly deadlineNs?: bigint) {}
  ready(): boolean {
    return this.deadlineNs === undefined || process.hrtime.bigint() >= this.deadlineNs;
  }
  block(): void {
    if (this.deadlineNs !== undefined) sleepUntil(this.deadlineNs);
  }
}

export function poll(pollables: Pollable[]): Uint32Array {
  if (pollables.length === 0) throw new Error('wasi:io/poll.poll called with an empty list');
  let ready = readyIndices(pollables);
  if (ready.length === 0) {
    const earliest = pollables.reduce((min, p) => (p.deadlineNs! < min ? p.deadlineNs! : min), pollables[0]!.deadlineNs!);
    sleepUntil(earliest);
    ready = readyIndices(pollables);
  }
  return Uint32Array.from(ready);
}

function readyIndices(pollables: Pollable[]): number[] {
  const ready: number[] = [];
  pollables.forEach((p, i) => p.ready() && ready.push(i));
  return ready;
}

export interface ByteSource {
  read(max: number): Uint8Array | undefined;
}

export class InputStream {
  constructor(private readonly source: ByteSource) {}
  read(len: bigint): Uint8Array {
    const chunk = this.source.read(clampLength(len));
    if (!chunk) throw CLOSED;
    return chunk;
  }
  blockingRead(len: bigint): Uint8Array {
    return this.read(len);
  }
  skip(len: bigint): bigint {
    return BigInt(this.read(len).length);
  }
  blockingSkip(len: bigint): bigint {
    return this.skip(len);
  }
  subscribe(): Pollable {
    return new Pollable();
  }
}

export interface ByteTarget {
  write(chunk: Uint8Array): void;
}

const ZEROES = new Uint8Array(64 * 1024);

export class OutputStream {
  constructor(private readonly target: ByteTarget) {}
  checkWrite(): bigint {
    return WRITE_PERMIT;
  }
  write(contents: Uint8Array): void {
    this.target.write(contents);
  }
  blockingWriteAndFlush(contents: Uint8Array): void {
    this.target.write(contents);
  }
  flush(): void {}
  blockingFlush(): void {}
  subscribe(): Pollable {
    return new Pollable();
  }
  /** In slices of one shared zero buffer: the guest picks the length, up to 2 GiB, and the limits stop it. */
  writeZeroes(len: bigint): void {
    for (let left = clampLength(len); left > 0; left -= ZEROES.length) this.target.write(ZEROES.subarray(0, Math.min(left, ZEROES.length)));
  }
  blockingWriteZeroesAndFlush(len: bigint): void {
    this.writeZeroes(len);
  }
  splice(source: InputStream, len: bigint): bigint {
    const chunk = source.read(len);
    this.target.write(chunk);
    return BigInt(chunk.length);
  }
  blockingSplice(source: InputStream, len: bigint): bigint {
    return this.splice(source, len);
  }
}

/** Lengths asked by the guest as u64; nothing in memory is ever longer than 2^31. */
export function clampLength(len: bigint): number {
  return Number(len > 0x7fff_ffffn ? 0x7fff_ffffn : len);
}
