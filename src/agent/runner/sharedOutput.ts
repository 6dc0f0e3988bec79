/**
 * stdout or stderr of the jobs of one worker, in a growable SharedArrayBuffer that both threads see.
 *
 * The worker appends; the main thread reads when the job ends, including when it terminated the
 * worker for time: what the job printed until then is already in shared memory. One buffer per
 * stream and worker, reused by every job and grown only when a job writes more (up to the limit).
 * A grown buffer is not copied out nor kept: the job's outcome takes it as it is (a view, answered
 * from shared memory) and the worker is given a fresh small one (see takeSharedOutput).
 *
 * Layout: bytes 0..3 hold the length written (Int32, atomic), the data starts at byte 8.
 */
const HEADER_BYTES = 8;
const INITIAL_DATA_BYTES = 64 * 1024;

/** ES2024's growable SharedArrayBuffer (Node 20 has it; the ES2022 lib does not type it). */
interface GrowableSharedArrayBuffer extends SharedArrayBuffer {
  readonly maxByteLength: number;
  grow(newLength: number): void;
}
type GrowableConstructor = new (length: number, options: { maxByteLength: number }) => GrowableSharedArrayBuffer;

/** A buffer that holds up to `limitBytes` of output. */
export function createSharedOutput(limitBytes: number): SharedArrayBuffer {
  const max = HEADER_BYTES + Math.min(limitBytes, 2 ** 31 - 1 - HEADER_BYTES);
  return new (SharedArrayBuffer as unknown as GrowableConstructor)(Math.min(max, HEADER_BYTES + INITIAL_DATA_BYTES), {
    maxByteLength: max,
  });
}

/** The worker's side. */
export class SharedOutputWriter {
  private buffer!: SharedArrayBuffer;
  private length!: Int32Array;
  /** Length-tracking view: it follows the buffer as it grows. */
  private bytes!: Uint8Array;
  private limit = 0;

  constructor(buffer: SharedArrayBuffer) {
    this.use(buffer);
  }

  /** Writes into `buffer` from now on (the pool took the last one with a job's output). */
  use(buffer: SharedArrayBuffer): void {
    if (buffer === this.buffer) return;
    this.buffer = buffer;
    this.length = new Int32Array(buffer, 0, 1);
    this.bytes = new Uint8Array(buffer);
    this.limit = (buffer as GrowableSharedArrayBuffer).maxByteLength - HEADER_BYTES;
  }

  /** Appends as much as the limit allows; returns how many bytes it took. */
  write(chunk: Uint8Array): number {
    const used = Atomics.load(this.length, 0);
    const taken = Math.min(chunk.length, this.limit - used);
    const needed = HEADER_BYTES + used + taken;
    if (needed > this.buffer.byteLength) this.grow(needed);
    this.bytes.set(taken === chunk.length ? chunk : chunk.subarray(0, taken), HEADER_BYTES + used);
    Atomics.store(this.length, 0, used + taken);
    return taken;
  }

  private grow(needed: number): void {
    const growable = this.buffer as GrowableSharedArrayBuffer;
    growable.grow(Math.min(growable.maxByteLength, Math.max(needed, growable.byteLength * 2)));
  }
}

/** The main thread's side: empty the buffer before a job, copy out what it holds after. */
export function resetSharedOutput(buffer: SharedArrayBuffer): void {
  Atomics.store(new Int32Array(buffer, 0, 1), 0, 0);
}

const EMPTY = new Uint8Array(0);

export function readSharedOutput(buffer: SharedArrayBuffer): Uint8Array {
  const length = Atomics.load(new Int32Array(buffer, 0, 1), 0);
  return length === 0 ? EMPTY : new Uint8Array(buffer, HEADER_BYTES, length).slice();
}

/** Whether a job grew the buffer past its initial size: then take it rather than copy it. */
export function hasGrown(buffer: SharedArrayBuffer): boolean {
  return buffer.byteLength > HEADER_BYTES + INITIAL_DATA_BYTES;
}

/** What the buffer holds, as a view of it (no copy): the buffer must not be written again. */
export function takeSharedOutput(buffer: SharedArrayBuffer): Uint8Array {
  const length = Atomics.load(new Int32Array(buffer, 0, 1), 0);
  return length === 0 ? EMPTY : new Uint8Array(buffer, HEADER_BYTES, length);
}
