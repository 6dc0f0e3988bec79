/**
 * From stored bytes to a module a worker can run: check that it is a WASI command this host can
 * link, cap its memory at the limit, compile it. Every refusal is a sentence for the job's owner.
 */
import { inspectWasm, WASM_PAGE_BYTES, wasiCommandProblems, WasmFormatError } from '../../wasm/inspect';
import { capMemory } from '../../wasm/memoryCap';
import { wasiImportProblems } from './wasi';

export type PreparedModule = { ok: true; module: WebAssembly.Module } | { ok: false; message: string };

export async function prepareJobModule(bytes: Uint8Array, memoryLimitBytes: number): Promise<PreparedModule> {
  try {
    const info = inspectWasm(bytes);
    const problems = [...wasiCommandProblems(info), ...wasiImportProblems(info)];
    if (problems.length > 0) return { ok: false, message: problems.join(' ') };
    const capped = capMemory(bytes, Math.floor(memoryLimitBytes / WASM_PAGE_BYTES));
    if (!capped.ok) return { ok: false, message: capped.problem };
    return { ok: true, module: await WebAssembly.compile(capped.bytes) };
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
