/**
 * Which kind of WebAssembly binary a file is, from its 8-byte header: after the `\0asm` magic, a
 * core module has version 01 00 00 00 and a component (component model) has 0d 00 01 00 (version
 * 0x0d, layer 1). Everything that reads a job's binary asks this first.
 */
export type WasmLayer = 'module' | 'component';

const MAGIC = [0x00, 0x61, 0x73, 0x6d];
const MODULE_VERSION = [0x01, 0x00, 0x00, 0x00];
const COMPONENT_VERSION = [0x0d, 0x00, 0x01, 0x00];
export const WASM_HEADER_BYTES = 8;

export function hasWasmMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && MAGIC.every((b, i) => bytes[i] === b);
}

/** The layer, or undefined when the header is neither (not wasm, truncated, another version). */
export function wasmLayer(bytes: Uint8Array): WasmLayer | undefined {
  if (!hasWasmMagic(bytes) || bytes.length < WASM_HEADER_BYTES) return undefined;
  const matches = (version: number[]): boolean => version.every((b, i) => bytes[4 + i] === b);
  if (matches(MODULE_VERSION)) return 'module';
  if (matches(COMPONENT_VERSION)) return 'component';
  return undefined;
}
