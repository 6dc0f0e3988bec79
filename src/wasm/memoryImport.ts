/**
 * Rewrites a module that defines its one memory into one that imports it, so that the runner can
 * give each instance a memory of its choosing (a reused, zeroed one: see runner/jobMemory.ts).
 *
 * The memory keeps index 0 (imports come first in the index space), so every load, store, data
 * segment and the `memory` export still name it; only where it comes from changes.
 */
import { concatBytes, encodeUleb } from './memoryCap';
import { ByteReader } from './reader';
import { readLimits, readSections, SectionId, sectionReader } from './sections';

/** The limits the importing instance must be given a memory of, in 64 KiB pages. */
export interface MemoryShape {
  initial: number;
  maximum: number;
}

export type MemoryImportResult = { bytes: Uint8Array; shape: MemoryShape } | undefined;

const SHARED_OR_64_BIT = 0x02 | 0x04;
const MEMORY_KIND = 0x02;

/**
 * The module importing its memory as `moduleName`.`fieldName`, or undefined when it cannot be
 * rewritten so: no import section, not exactly one defined memory, an imported memory already,
 * a memory without maximum, or a shared or 64-bit memory (the caller then runs it as it is).
 */
export function importMemory(bytes: Uint8Array, moduleName: string, fieldName: string): MemoryImportResult {
  const sections = readSections(bytes);
  const imports = sections.find((section) => section.id === SectionId.Import);
  const memories = sections.filter((section) => section.id === SectionId.Memory);
  if (!imports || memories.length !== 1) return undefined;
  const memorySection = memories[0]!;
  const memoryReader = sectionReader(bytes, memorySection);
  if (memoryReader.uleb('the number of memories') !== 1) return undefined;
  const limits = readLimits(memoryReader, 'memory 0');
  if (limits.max === undefined || (limits.flags & SHARED_OR_64_BIT) !== 0 || !memoryReader.atEnd) return undefined;

  const importReader = sectionReader(bytes, imports);
  const count = importReader.uleb('the number of imports');
  const entriesStart = importReader.offset;
  if (importsMemory(importReader, count)) return undefined;
  const entry = [...encodedName(moduleName), ...encodedName(fieldName), MEMORY_KIND, ...bytes.subarray(limits.start, limits.end)];
  const content = concatBytes([Uint8Array.from(encodeUleb(count + 1)), bytes.subarray(entriesStart, imports.end), Uint8Array.from(entry)]);
  const rewritten = concatBytes([
    bytes.subarray(0, imports.start),
    Uint8Array.from([SectionId.Import, ...encodeUleb(content.length)]),
    content,
    bytes.subarray(imports.end, memorySection.start),
    bytes.subarray(memorySection.end),
  ]);
  return { bytes: rewritten, shape: { initial: limits.min, maximum: limits.max } };
}

function importsMemory(reader: ByteReader, count: number): boolean {
  for (let i = 0; i < count; i++) {
    reader.name(`the module name of import ${i}`);
    reader.name(`the name of import ${i}`);
    const kind = reader.byte(`the kind of import ${i}`);
    if (kind === MEMORY_KIND) return true;
    if (kind === 0x00) reader.uleb(`the type index of import ${i}`);
    else return true; // a table, global or tag: not a plain WASI command, leave it alone
  }
  return false;
}

function encodedName(name: string): number[] {
  const utf8 = new TextEncoder().encode(name);
  return [...encodeUleb(utf8.length), ...utf8];
}
