/**
 * Extensions, as the seed agent had them: every `*.wasm` of a folder (`serval agent --extensions
 * DIR`, or the seed's `EXTENSIONS_PATH`) is an extension named by its file stem. A job that
 * imports from module X gets the exports of extension X linked in, if its manifest lists X in
 * `required_extensions`. Each run gets fresh instances (nothing leaks from run to run), on the
 * job's thread, with the same WASI host (stdio, files) and within the job's limits.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';

import type { ExtensionInfo } from '../../api/contract';
import { inspectWasm, WASI_MODULE, WASM_PAGE_BYTES } from '../../wasm/inspect';
import { capMemory } from '../../wasm/memoryCap';
import { MEMORY_IMPORT } from './jobMemory';

/** A loaded extension: what `GET /v1/extensions` lists, and the module jobs link with. */
export interface Extension {
  info: ExtensionInfo;
  module: WebAssembly.Module;
}

/** The extensions a run may link: declared by its manifest, and those this agent has. */
export interface ExtensionChoice {
  declared: readonly string[];
  available: ReadonlyMap<string, Extension>;
}

/** One extension as a run's worker gets it. */
export interface LinkedExtension {
  name: string;
  module: WebAssembly.Module;
}

/** Loads every `*.wasm` of `dir` (sorted by name); a file that is not a module stops the agent with a sentence. */
export async function loadExtensions(dir: string, memoryLimitBytes: number): Promise<Map<string, Extension>> {
  const extensions = new Map<string, Extension>();
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith('.wasm')).sort();
  } catch (error) {
    throw new Error(`the extensions folder ${dir} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  for (const file of names) {
    const name = file.slice(0, -'.wasm'.length);
    const bytes = await readFile(path.join(dir, file));
    let module: WebAssembly.Module;
    let exports: string[];
    try {
      exports = inspectWasm(bytes).exports.map((e) => e.name);
      const capped = capMemory(bytes, Math.floor(memoryLimitBytes / WASM_PAGE_BYTES));
      if (!capped.ok) throw new Error(capped.problem);
      module = await WebAssembly.compile(capped.bytes);
    } catch (error) {
      throw new Error(`the extension ${path.join(dir, file)} is not a usable WebAssembly module: ${(error as Error).message}`);
    }
    const integrity = `sha256-${createHash('sha256').update(bytes).digest('base64')}`;
    extensions.set(name, { info: { name, integrity, size: bytes.length, exports }, module });
  }
  return extensions;
}

/** The import-module names of a job that are neither WASI nor its memory: extensions it needs. */
export function extensionImports(imports: readonly { module: string }[]): string[] {
  return [...new Set(imports.map((i) => i.module).filter((m) => m !== WASI_MODULE && m !== MEMORY_IMPORT.module))];
}

/** The extensions to link for these imports, or why the job cannot run (a sentence for its owner). */
export function chooseExtensions(
  needed: readonly string[],
  choice: ExtensionChoice | undefined,
): { ok: true; linked: LinkedExtension[] } | { ok: false; message: string } {
  const linked: LinkedExtension[] = [];
  for (const name of needed) {
    if (!choice?.declared.includes(name)) {
      return {
        ok: false,
        message: `extension "${name}" declaration missing: the job imports from "${name}", which its manifest's required_extensions does not list; add required_extensions = ["${name}"] (an import from any module but "${WASI_MODULE}" is an extension).`,
      };
    }
    const extension = choice.available.get(name);
    if (!extension) {
      return { ok: false, message: `extension ${name} is not available on this agent; start the agent with --extensions DIR holding ${name}.wasm` };
    }
    linked.push({ name, module: extension.module });
  }
  return { ok: true, linked };
}
