/**
 * From stored bytes to a module a worker can run: check that it is a WASI command this host can
 * link, drop its custom sections (never compiled, yet kept with the code), cap its memory at the
 * limit, make it import that memory (reused between its jobs: see jobMemory.ts), compile it.
 * Every refusal is a sentence for the job's owner.
 */
import { stripCustomSections } from '../../wasm/customSections';
import { inspectWasm, WASI_MODULE, WASM_PAGE_BYTES, wasiCommandProblems, WasmFormatError } from '../../wasm/inspect';
import { extensionImports } from './extensions';
import { capMemory } from '../../wasm/memoryCap';
import { importMemory } from '../../wasm/memoryImport';
import { MEMORY_IMPORT, type MemoryShape, rememberMemoryShape } from './jobMemory';
import { MAX_METERED_MODULE_BYTES } from './mainThread';
import { wasiImportProblems } from './wasi';

export type PreparedModule =
  | {
      ok: true;
      module: WebAssembly.Module;
      /** Instantiating it runs guest code (a start section), so it may be done only as part of a job. */
      hasStartSection: boolean;
      /** Its size as wasm: what the compiled-module cache weighs it by. */
      bytes: number;
      /** The memory each instance must be given (it imports it); undefined: it defines its own. */
      memory?: MemoryShape;
      /** Modules it imports from besides WASI: the extensions each run must link (extensions.ts). */
      extensionImports: string[];
      /** The bytes compiled, kept for a metered copy when the module is small (mainThread.ts). */
      meterable?: Uint8Array;
    }
  | { ok: false; message: string };

const START_SECTION_ID = 8;
const WASM_HEADER_BYTES = 8;

export async function prepareJobModule(bytes: Uint8Array, memoryLimitBytes: number): Promise<PreparedModule> {
  try {
    const info = inspectWasm(bytes);
    // Imports from other modules are extensions: whether a run may link them is its manifest's and
    // agent's business (chooseExtensions), not the module's.
    const wasiOnly = { ...info, imports: info.imports.filter((i) => i.module === WASI_MODULE) };
    const problems = [...wasiCommandProblems(wasiOnly), ...wasiImportProblems(info)];
    if (problems.length > 0) return { ok: false, message: problems.join(' ') };
    const capped = capMemory(stripCustomSections(bytes), Math.floor(memoryLimitBytes / WASM_PAGE_BYTES));
    if (!capped.ok) return { ok: false, message: capped.problem };
    const imported = importMemory(capped.bytes, MEMORY_IMPORT.module, MEMORY_IMPORT.name);
    const runnable = imported?.bytes ?? capped.bytes;
    const module = await WebAssembly.compile(runnable);
    if (imported) rememberMemoryShape(module, imported.shape);
    const startSection = hasStartSection(runnable);
    // A start section runs guest code when instantiated, outside any job: such a module stays in workers.
    const meterable = !startSection && runnable.byteLength <= MAX_METERED_MODULE_BYTES ? runnable : undefined;
    return {
      ok: true,
      module,
      hasStartSection: startSection,
      bytes: runnable.byteLength,
      extensionImports: extensionImports(info.imports),
      ...(imported && { memory: imported.shape }),
      ...(meterable && { meterable }),
    };
  } catch (error) {
    if (error instanceof WasmFormatError) return { ok: false, message: capitalize(error.message) };
    if (error instanceof WebAssembly.CompileError) {
      return { ok: false, message: `It is not a valid WebAssembly module (${error.message}); rebuild the .wasm.` };
    }
    throw error;
  }
}

function capitalize(sentence: string): string {
  return sentence.charAt(0).toUpperCase() + sentence.slice(1);
}

/** Walks the sections of a module that inspectWasm has already found well formed. */
function hasStartSection(bytes: Uint8Array): boolean {
  let offset = WASM_HEADER_BYTES;
  while (offset < bytes.length) {
    const id = bytes[offset++];
    let size = 0;
    for (let shift = 0; offset < bytes.length; shift += 7) {
      const byte = bytes[offset++]!;
      size += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) break;
    }
    if (id === START_SECTION_ID) return true;
    offset += size;
  }
  return false;
}
