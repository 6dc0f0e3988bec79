/** The bytes are not a well-formed WebAssembly module. The message says what is wrong and what to do. */
export class WasmFormatError extends Error {
  override readonly name = 'WasmFormatError';
}
