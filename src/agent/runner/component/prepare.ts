/**
 * From a transpiled component to what a job worker runs: every core module memory-capped at the
 * job's limit (as for preview1 modules) and compiled once; the glue kept as source, made into a
 * function once per worker (glue.ts).
 */
import { capMemory } from '../../../wasm/memoryCap';
import { WASM_PAGE_BYTES } from '../../../wasm/inspect';
import type { Transpiled } from './transpile';

/** Posted to workers as is: compiled modules share their code across threads. */
export interface ComponentExecutable {
  kind: 'component';
  glue: string;
  coreModules: Record<string, WebAssembly.Module>;
}

export type PreparedComponent = { ok: true; executable: ComponentExecutable; /** of its core modules, capped */ bytes: number } | { ok: false; message: string };

export async function prepareComponent(transpiled: Transpiled, memoryLimitBytes: number): Promise<PreparedComponent> {
  const maxPages = Math.floor(memoryLimitBytes / WASM_PAGE_BYTES);
  const coreModules: Record<string, WebAssembly.Module> = {};
  let size = 0;
  for (const [name, bytes] of Object.entries(transpiled.coreModules)) {
    const capped = capMemory(bytes, maxPages);
    if (!capped.ok) return { ok: false, message: capped.problem };
    size += capped.bytes.byteLength;
    try {
      coreModules[name] = await WebAssembly.compile(capped.bytes);
    } catch (error) {
      return { ok: false, message: `Its core module ${name} does not compile (${(error as Error).message}); rebuild the component.` };
    }
  }
  return { ok: true, executable: { kind: 'component', glue: transpiled.glue, coreModules }, bytes: size + transpiled.glue.length };
}
