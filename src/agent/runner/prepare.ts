/**
 * From stored bytes to a module a worker can run: check that it is a WASI command this host can
 * link, cap its memory at the limit, compile it. Every refusal is a sentence for the job's owner.
 */
import { inspectWasm, WASM_PAGE_BYTES, wasiCommandProblems, WasmFormatError } from '../../wasm/inspect';
import { capMemory } from '../../wasm/memoryCap';
import { wasiImportProblems } from './wasi';

export type PreparedModule =
  | {
      ok: true;
      module: WebAssembly.Module;
      /** Instantiating it runs guest code (a start section), so it may be done only as part of a job. */
      hasStartSection: boolean;
      /** Its size as wasm: what the compiled-module cache weighs it by. */
      bytes: number;
    }
  | { ok: false; message: string };

const START_SECTION_ID = 8;
const WASM_HEADER_BYTES = 8;

export async function prepareJobModule(bytes: Uint8Array, memoryLimitBytes: number): Promise<PreparedModule> {
  try {
    const info = inspectWasm(bytes);
    const problems = [...wasiCommandProblems(info), ...wasiImportProblems(info)];
    if (problems.length > 0) return { ok: false, message: problems.join(' ') };
    const capped = capMemory(bytes, Math.floor(memoryLimitBytes / WASM_PAGE_BYTES));
    if (!capped.ok) return { ok: false, message: capped.problem };
    const module = await WebAssembly.compile(capped.bytes);
    return { ok: true, module, hasStartSection: hasStartSection(capped.bytes), bytes: capped.bytes.byteLength };
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
