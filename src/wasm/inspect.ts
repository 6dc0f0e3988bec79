/**
 * Reads what a module imports, exports and declares as memory, without compiling it.
 * A small section parser: it reads the import, memory and export sections and skips
 * every other section by its size, so it costs microseconds even for large modules.
 */
import { WasmFormatError } from './errors';
import {
  type ExternalKind,
  type Limits,
  readExternalKind,
  readImportDescription,
  readLimits,
  readSections,
  SectionId,
  sectionReader,
} from './sections';

export { WasmFormatError };

export interface WasmImport {
  module: string;
  name: string;
  kind: ExternalKind;
}
export interface WasmExport {
  name: string;
  kind: ExternalKind;
}
/** The module's first memory (index 0), the one WASI uses. Sizes are in 64 KiB pages. */
export interface WasmMemory {
  initialPages: number;
  maximumPages?: number;
  exported: boolean;
  imported: boolean;
}
export interface WasmInfo {
  imports: WasmImport[];
  exports: WasmExport[];
  memory?: WasmMemory;
}

export const WASI_MODULE = 'wasi_snapshot_preview1';
export const WASM_PAGE_BYTES = 65536;

/** Throws WasmFormatError, with a message for a person, when the bytes are not a well-formed module. */
export function inspectWasm(bytes: Uint8Array): WasmInfo {
  const imports: WasmImport[] = [];
  const exports: WasmExport[] = [];
  let memoryLimits: Limits | undefined;
  let memoryImported = false;
  let memoryZeroExported = false;

  for (const section of readSections(bytes)) {
    const reader = sectionReader(bytes, section);
    if (section.id === SectionId.Import) {
      const count = reader.uleb('the number of imports');
      for (let i = 0; i < count; i++) {
        const module = reader.name(`the module name of import ${i}`);
        const name = reader.name(`the name of import ${i}`);
        const kind = readExternalKind(reader, `import ${module}.${name}`);
        const limits = readImportDescription(reader, kind, `import ${module}.${name}`);
        if (limits && !memoryLimits) {
          memoryLimits = limits;
          memoryImported = true;
        }
        imports.push({ module, name, kind });
      }
    } else if (section.id === SectionId.Memory) {
      const count = reader.uleb('the number of memories');
      for (let i = 0; i < count; i++) {
        const limits = readLimits(reader, `memory ${i}`);
        if (!memoryLimits) memoryLimits = limits;
      }
    } else if (section.id === SectionId.Export) {
      const count = reader.uleb('the number of exports');
      for (let i = 0; i < count; i++) {
        const name = reader.name(`the name of export ${i}`);
        const kind = readExternalKind(reader, `export "${name}"`);
        const index = reader.uleb(`the index of export "${name}"`);
        if (kind === 'memory' && index === 0) memoryZeroExported = true;
        exports.push({ name, kind });
      }
    } else {
      continue;
    }
    if (!reader.atEnd) throw reader.malformed(`section ${section.id} has ${section.end - reader.offset} unexpected bytes at its end`);
  }

  const memory = memoryLimits && {
    initialPages: memoryLimits.min,
    ...(memoryLimits.max !== undefined && { maximumPages: memoryLimits.max }),
    exported: memoryZeroExported,
    imported: memoryImported,
  };
  return { imports, exports, ...(memory && { memory }) };
}

/**
 * Why the module cannot run as a WASI preview1 command, one sentence each; empty when it can.
 * A command exports `_start` and its memory as `memory`, and imports only from WASI.
 */
export function wasiCommandProblems(info: WasmInfo): string[] {
  const problems: string[] = [];
  const start = info.exports.find((e) => e.name === '_start');
  if (!start) {
    problems.push(
      'It does not export a "_start" function, so it is not a WASI command (a library or reactor module cannot run as a job); build it as an executable with a main function.',
    );
  } else if (start.kind !== 'function') {
    problems.push(`Its "_start" export is a ${start.kind}, not a function, so it cannot be started.`);
  }
  const memoryExport = info.exports.find((e) => e.name === 'memory');
  if (!memoryExport || memoryExport.kind !== 'memory') {
    problems.push(
      'It does not export its memory as "memory", which WASI needs to pass data to the program; build it for the wasm32-wasi target.',
    );
  }
  const foreign = info.imports.filter((i) => i.module !== WASI_MODULE);
  if (foreign.length > 0) {
    const listed = foreign.slice(0, 5).map((i) => `${i.module}.${i.name}`).join(', ');
    const more = foreign.length > 5 ? ` and ${foreign.length - 5} more` : '';
    problems.push(
      `It imports ${listed}${more}, which the agent does not provide: a job may import only from "${WASI_MODULE}".`,
    );
  }
  return problems;
}
