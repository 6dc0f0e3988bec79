/**
 * The guest's linear memory as host functions see it: bounds-checked reads and writes that throw
 * MEMORY_FAULT (answered EFAULT) instead of touching bytes outside it. Views are refreshed when
 * memory.grow replaced the buffer.
 */
export const MEMORY_FAULT = Symbol('memory fault');

const EMPTY = new Uint8Array(0);
/** Shared by every detached host: attach runs twice per job, and a new ArrayBuffer is not free. */
const EMPTY_VIEW = new DataView(new ArrayBuffer(0));
const decoder = new TextDecoder('utf-8', { fatal: true });

export class GuestMemory {
  private memory: WebAssembly.Memory | undefined;
  private cachedBuffer: ArrayBuffer | undefined;
  bytes: Uint8Array = EMPTY;
  view = EMPTY_VIEW;

  /** The memory attached now (the job's, or an extension's during its WASI call). */
  get current(): WebAssembly.Memory | undefined {
    return this.memory;
  }

  attach(memory: WebAssembly.Memory | undefined): void {
    this.memory = memory;
    this.cachedBuffer = undefined;
    this.bytes = EMPTY;
    this.view = EMPTY_VIEW;
  }

  /** Bytes the guest's memory holds now (0 before it is attached). */
  get size(): number {
    return this.memory?.buffer.byteLength ?? 0;
  }

  /** Refreshes the views when memory.grow replaced the buffer; call before any access. */
  refresh(): void {
    const buffer = this.memory?.buffer;
    if (buffer === this.cachedBuffer) return;
    if (!buffer) throw new Error('the module did not export its memory before calling WASI');
    this.cachedBuffer = buffer;
    this.bytes = new Uint8Array(buffer);
    this.view = new DataView(buffer);
  }

  check(ptr: number, length: number): void {
    if (ptr + length > this.bytes.length) throw MEMORY_FAULT;
  }

  u32(ptr: number): number {
    this.check(ptr, 4);
    return this.view.getUint32(ptr, true);
  }

  setU8(ptr: number, value: number): void {
    this.check(ptr, 1);
    this.bytes[ptr] = value;
  }

  setU16(ptr: number, value: number): void {
    this.check(ptr, 2);
    this.view.setUint16(ptr, value, true);
  }

  setU32(ptr: number, value: number): void {
    this.check(ptr, 4);
    this.view.setUint32(ptr, value, true);
  }

  setU64(ptr: number, value: bigint): void {
    this.check(ptr, 8);
    this.view.setBigUint64(ptr, value, true);
  }

  slice(ptr: number, length: number): Uint8Array {
    this.check(ptr, length);
    return this.bytes.subarray(ptr, ptr + length);
  }

  /** A UTF-8 string of the guest; undefined when its bytes are not UTF-8 (EILSEQ). */
  string(ptr: number, length: number): string | undefined {
    try {
      return decoder.decode(this.slice(ptr, length));
    } catch (error) {
      if (error === MEMORY_FAULT) throw error;
      return undefined;
    }
  }

  /** The buffers of an iovec array: (ptr, len) pairs of u32. */
  iovecs(iovs: number, count: number): Uint8Array[] {
    const buffers: Uint8Array[] = [];
    for (let i = 0; i < count; i++) buffers.push(this.slice(this.u32(iovs + i * 8), this.u32(iovs + i * 8 + 4)));
    return buffers;
  }
}
