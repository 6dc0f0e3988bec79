/** Instances of hand-made modules for the rewrite tests (fuel, resettable), and their exports as functions. */
export function instantiate(bytes: Uint8Array, imports: WebAssembly.Imports = {}): WebAssembly.Instance {
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), imports);
}

export type Exported = Record<string, (...args: number[]) => number>;

export const exported = (instance: WebAssembly.Instance): Exported => instance.exports as unknown as Exported;
