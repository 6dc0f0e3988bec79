import { WasmFormatError } from './errors';

/**
 * A cursor over the bytes of a module. Every read checks bounds, so a truncated
 * module ends in a WasmFormatError that says what was being read, never in a
 * RangeError or a silently wrong result.
 */
export class ByteReader {
  private static readonly utf8 = new TextDecoder('utf-8', { fatal: true });

  constructor(
    readonly bytes: Uint8Array,
    public offset = 0,
    /** Reads may not pass this offset (the end of the current section). */
    public end = bytes.length,
  ) {}

  get atEnd(): boolean {
    return this.offset >= this.end;
  }

  byte(what: string): number {
    if (this.offset >= this.end) throw this.truncated(what);
    return this.bytes[this.offset++];
  }

  /** An unsigned LEB128 integer of at most `maxBits` bits (32 or 64). */
  uleb(what: string, maxBits = 32): number {
    let result = 0;
    let scale = 1;
    const maxBytes = Math.ceil(maxBits / 7);
    for (let i = 0; i < maxBytes; i++) {
      const b = this.byte(what);
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (result > 2 ** maxBits - 1) throw this.malformed(`${what} is larger than ${maxBits} bits`);
        return result;
      }
      scale *= 128;
    }
    throw this.malformed(`${what} is an integer encoded in more than ${maxBytes} bytes`);
  }

  /** A signed LEB128 integer, only skipped over (heap types of reference types). */
  skipSleb(what: string): void {
    for (let i = 0; i < 10; i++) {
      if ((this.byte(what) & 0x80) === 0) return;
    }
    throw this.malformed(`${what} is an integer encoded in more than 10 bytes`);
  }

  skip(length: number, what: string): void {
    if (length > this.end - this.offset) throw this.truncated(what);
    this.offset += length;
  }

  name(what: string): string {
    const length = this.uleb(`the length of ${what}`);
    const start = this.offset;
    this.skip(length, what);
    try {
      return ByteReader.utf8.decode(this.bytes.subarray(start, this.offset));
    } catch {
      throw this.malformed(`${what} is not valid UTF-8`, start);
    }
  }

  truncated(what: string): WasmFormatError {
    return new WasmFormatError(
      `the WebAssembly module is truncated or corrupt: it ends while reading ${what} (byte ${this.offset}). ` +
        'Rebuild the .wasm or upload it again in full.',
    );
  }

  malformed(problem: string, at = this.offset): WasmFormatError {
    return new WasmFormatError(`the WebAssembly module is malformed at byte ${at}: ${problem}. Rebuild the .wasm.`);
  }
}
