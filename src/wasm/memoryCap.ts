/**
 * Caps the memory a module may grow to, by rewriting the maximum declared in its binary.
 *
 * Worker resourceLimits do not bound WebAssembly memory, but an engine never grows a memory past
 * its declared maximum: with the maximum lowered, `memory.grow` fails inside the guest (libc's
 * `malloc` returns NULL) instead of the host running out of memory.
 *
 * Tables get the same treatment. Their elements live on the worker's JS heap, and V8 answers a
 * heap exhausted by `table.grow` by aborting the whole process (a resourceLimits worker too), so
 * an uncapped module could kill the agent, or the extension host, with a few big tables.
 */
import { ByteReader } from './reader';
import {
  type Limits,
  readExternalKind,
  readImportDescription,
  readLimits,
  readSections,
  type Section,
  SectionId,
  sectionReader,
  skipValueType,
} from './sections';

export type MemoryCapResult =
  | { ok: true; bytes: Uint8Array; /** false when every memory already had a maximum within the cap */ changed: boolean }
  | { ok: false; problem: string };

const PAGE_BYTES = 65536;
const HAS_MAXIMUM = 0x01;

/**
 * Table entries a job may have in all its tables together: V8's own maximum for one table, about
 * 80 MB of the worker's heap, far from its limit. Real programs hold a few thousand.
 */
export const TABLE_ENTRY_LIMIT = 10_000_000;

/**
 * Lowers the declared maximum of every memory (defined or imported) to at most `maxPages`.
 * Refuses a module whose initial memory is already over the cap. Throws WasmFormatError on malformed bytes.
 */
export function capMemory(bytes: Uint8Array, maxPages: number, maxTableEntries = TABLE_ENTRY_LIMIT): MemoryCapResult {
  const edits: SectionEdit[] = [];
  for (const section of readSections(bytes)) {
    if (section.id === SectionId.Table) {
      const capped = tableEdit(bytes, section, maxTableEntries);
      if (typeof capped === 'string') return { ok: false, problem: capped };
      if (capped) edits.push(capped);
      continue;
    }
    const memories = memoryLimitsIn(bytes, section);
    const tooBig = memories.find((limits) => limits.min > maxPages);
    if (tooBig) return { ok: false, problem: initialMemoryProblem(tooBig.min, maxPages) };
    const replacements = memories
      .filter((limits) => limits.max === undefined || limits.max > maxPages)
      .map((limits) => ({ limits, encoded: encodeLimits(limits, maxPages) }));
    if (replacements.length > 0) edits.push({ section, replacements });
  }
  if (edits.length === 0) return { ok: true, bytes, changed: false };
  return { ok: true, bytes: applyEdits(bytes, edits), changed: true };
}

/** The one sentence used when a module asks for more initial memory than allowed. */
export function initialMemoryProblem(initialPages: number, maxPages: number): string {
  return (
    `It declares ${formatPages(initialPages)} of initial memory, more than the memory limit of ${formatPages(maxPages)} per job; ` +
    'build it with a smaller initial memory (e.g. a smaller stack or initial heap) or raise the limit.'
  );
}

function formatPages(pages: number): string {
  const mib = (pages * PAGE_BYTES) / (1024 * 1024);
  return Number.isInteger(mib) ? `${mib} MiB` : `${mib.toFixed(2)} MiB`;
}

interface SectionEdit {
  section: Section;
  replacements: { limits: Limits; encoded: number[] }[];
}

/**
 * Each table may grow by an equal share of what the budget leaves after every table's initial
 * size, so all of them together never pass it. A problem sentence when the initial sizes alone do.
 * (Imported tables need no cap: a job imports only functions, from WASI.)
 */
function tableEdit(bytes: Uint8Array, section: Section, maxEntries: number): SectionEdit | string | undefined {
  const reader = sectionReader(bytes, section);
  const count = reader.uleb('the number of tables');
  const tables = Array.from({ length: count }, (_, i) => {
    skipValueType(reader, `table ${i}`);
    return readLimits(reader, `table ${i}`);
  });
  const initial = tables.reduce((sum, limits) => sum + limits.min, 0);
  if (initial > maxEntries) {
    return (
      `It declares tables of ${initial} entries in all, more than the limit of ${maxEntries} per job; ` +
      'build it with smaller tables.'
    );
  }
  const share = Math.floor((maxEntries - initial) / Math.max(1, count));
  const replacements = tables
    .filter((limits) => limits.max === undefined || limits.max > limits.min + share)
    .map((limits) => ({ limits, encoded: encodeLimits(limits, limits.min + share) }));
  return replacements.length > 0 ? { section, replacements } : undefined;
}

function memoryLimitsIn(bytes: Uint8Array, section: Section): Limits[] {
  const reader = sectionReader(bytes, section);
  if (section.id === SectionId.Memory) {
    const count = reader.uleb('the number of memories');
    return Array.from({ length: count }, (_, i) => readLimits(reader, `memory ${i}`));
  }
  if (section.id === SectionId.Import) return importedMemoryLimits(reader);
  return [];
}

function importedMemoryLimits(reader: ByteReader): Limits[] {
  const found: Limits[] = [];
  const count = reader.uleb('the number of imports');
  for (let i = 0; i < count; i++) {
    const what = `import ${reader.name(`the module name of import ${i}`)}.${reader.name(`the name of import ${i}`)}`;
    const limits = readImportDescription(reader, readExternalKind(reader, what), what);
    if (limits) found.push(limits);
  }
  return found;
}

/** Same flags (shared, 64-bit) plus "has maximum"; the minimum unchanged; the maximum at the cap. */
function encodeLimits(limits: Limits, maxPages: number): number[] {
  return [limits.flags | HAS_MAXIMUM, ...encodeUleb(limits.min), ...encodeUleb(maxPages)];
}

export function encodeUleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return out;
}

/** Copies the module, re-encoding the edited sections' contents and sizes. */
function applyEdits(bytes: Uint8Array, edits: SectionEdit[]): Uint8Array {
  const pieces: Uint8Array[] = [];
  let copiedUpTo = 0;
  for (const { section, replacements } of edits) {
    pieces.push(bytes.subarray(copiedUpTo, section.start));
    const content = rewriteContent(bytes, section, replacements);
    pieces.push(Uint8Array.of(section.id, ...encodeUleb(content.length)), content);
    copiedUpTo = section.end;
  }
  pieces.push(bytes.subarray(copiedUpTo));
  return concatBytes(pieces);
}

function rewriteContent(bytes: Uint8Array, section: Section, replacements: SectionEdit['replacements']): Uint8Array {
  const pieces: Uint8Array[] = [];
  let copiedUpTo = section.contentStart;
  for (const { limits, encoded } of replacements) {
    pieces.push(bytes.subarray(copiedUpTo, limits.start), Uint8Array.from(encoded));
    copiedUpTo = limits.end;
  }
  pieces.push(bytes.subarray(copiedUpTo, section.end));
  return concatBytes(pieces);
}

/** One array of the pieces, in order. */
export function concatBytes(pieces: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out;
}
