/** Bytes of WebAssembly binaries for tests: custom sections that make a valid module of any size. */
import { encodeUleb } from '../../src/wasm/memoryCap';

/** A custom section: id 0, its size, then the name as a vector and the payload. */
export function customSection(name: Uint8Array | string, payload: Uint8Array): Buffer {
  const nameBytes = typeof name === 'string' ? Buffer.from(name) : Buffer.from(name);
  const content = Buffer.concat([Buffer.from(encodeUleb(nameBytes.byteLength)), nameBytes, payload]);
  return Buffer.concat([Buffer.from([0, ...encodeUleb(content.byteLength)]), content]);
}
