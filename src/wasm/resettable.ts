/**
 * Makes a module resettable: one instance of it can then run job after job, as if each had a
 * fresh instance.
 *
 * Why: `new WebAssembly.Instance` costs about 8 µs, a large share of a small job on the agent's
 * thread (mainThread.ts). An instance can only be reused if it can be put back exactly in the
 * state it was made in, so that no job ever sees a byte of another's memory, globals or tables.
 *
 * What an instance holds, and how it is put back:
 * - memory: the caller zeroes it; the rewrite turns every active data segment into a passive one,
 *   re-applied by RESET_EXPORT with memory.init, in order, at its constant offset (so after
 *   instantiation the memory holds no data at all: reset must run before the first job too);
 * - globals: RESET_EXPORT sets every defined mutable global back to its constant initial value;
 * - tables: a module whose code could change a table (table.set, grow, fill, copy, init,
 *   elem.drop) is declined: its tables then stay as instantiation left them;
 * - data segments: one already passive, memory.init and data.drop are declined (the segments
 *   must stay whole for the next reset).
 * Anything else that cannot be reset from constants (a start section, a global initialised from
 * another, a data offset that is not an i32.const), a memory the caller could not zero (none, two,
 * one defined and not exported), or anything the decoder of fuel.ts does not know, makes
 * makeResettable answer undefined: the caller then makes a fresh instance per job, always safe.
 *
 * A data segment out of bounds, which would fail instantiation, fails the reset instead (a trap).
 * A job that grows the memory leaves it larger than a fresh instance's: the caller must then drop
 * the memory and the instance with it, as jobMemory.ts drops a grown memory.
 */
import { WasmFormatError } from './errors';
import { concatBytes, encodeUleb } from './memoryCap';
import { assemble, encodedSection, withEntry } from './assemble';
import { checkFunctionTypes } from './fuel';
import { skipLocals, UnsupportedWasm, visitInstructions } from './instructions';
import { ByteReader } from './reader';
import { readExternalKind, readImportDescription, readSections, SECTION_RANK, type Section, SectionId, sectionReader } from './sections';

export const RESET_EXPORT = 'serval:reset';

/**
 * The module rewritten so that one instance can run job after job: its active data segments become
 * passive and an exported function RESET_EXPORT (no params, no results) re-applies them (memory.init,
 * in their original order, at their original constant offsets) and sets every defined mutable global
 * back to its constant initial value. The caller must zero the memory, then call reset, before EVERY
 * run, the first included (after instantiation the memory holds no data at all).
 * undefined when that cannot be done safely.
 */
export function makeResettable(bytes: Uint8Array): Uint8Array | undefined {
  try {
    return rewrite(bytes);
  } catch (error) {
    if (error instanceof NotResettable || error instanceof UnsupportedWasm || error instanceof WasmFormatError) return undefined;
    throw error;
  }
}

/** Thrown inside this module for anything that cannot be reset safely; makeResettable answers undefined. */
class NotResettable extends Error {}


const FUNCTION_KIND = 0x00;
const I32_CONST = 0x41;
const END = 0x0b;
const GLOBAL_SET = 0x24;
const MEMORY_INIT = [0xfc, 0x08];
/** `(type (func))`: the reset function's type. */
const NO_PARAMS_NO_RESULTS = Uint8Array.from([0x60, 0x00, 0x00]);

/** An active data segment of memory 0: `i32.const offset` as written, then its bytes' vector. */
interface DataSegment {
  offsetInstruction: Uint8Array;
  length: number;
  /** The vector (length, bytes) as written, for the passive segment. */
  vector: Uint8Array;
}

/** A defined mutable global: its index, and its `*.const` init instruction as written. */
interface MutableGlobal {
  index: number;
  initInstruction: Uint8Array;
}

interface Imports {
  functions: number;
  globals: number;
  memories: number;
}

function rewrite(bytes: Uint8Array): Uint8Array {
  const sections = readSections(bytes);
  const byId = sectionsById(sections);
  if (byId.has(SectionId.Start)) throw new NotResettable(); // it runs guest code that a reset would not repeat
  const imports = readImports(bytes, byId.get(SectionId.Import));
  const exportsMemory = checkExports(bytes, byId.get(SectionId.Export));
  checkOneMemoryTheCallerCanZero(imports.memories, count(bytes, byId.get(SectionId.Memory)), exportsMemory);
  const globals = mutableGlobals(bytes, byId.get(SectionId.Global), imports.globals);
  const segments = dataSegments(bytes, byId.get(SectionId.Data));
  const definedFunctions = count(bytes, byId.get(SectionId.Function));
  checkBodies(bytes, byId.get(SectionId.Code), definedFunctions);

  const typeSection = byId.get(SectionId.Type);
  checkFunctionTypes(bytes, typeSection);
  const resetType = count(bytes, typeSection);
  const resetFunction = imports.functions + definedFunctions;
  const replaced = new Map<number, Uint8Array>([
    [SectionId.Type, withEntry(bytes, typeSection, SectionId.Type, NO_PARAMS_NO_RESULTS)],
    [SectionId.Function, withEntry(bytes, byId.get(SectionId.Function), SectionId.Function, Uint8Array.from(encodeUleb(resetType)))],
    [SectionId.Export, withEntry(bytes, byId.get(SectionId.Export), SectionId.Export, resetExportEntry(resetFunction))],
    [SectionId.Code, withEntry(bytes, byId.get(SectionId.Code), SectionId.Code, sized(resetBody(segments, globals)))],
  ]);
  if (segments.length > 0) {
    replaced.set(SectionId.Data, passiveDataSection(segments));
    if (!byId.has(SectionId.DataCount)) replaced.set(SectionId.DataCount, encodedSection(SectionId.DataCount, Uint8Array.from(encodeUleb(segments.length))));
  }
  return assemble(bytes, sections, replaced);
}

/** The non-custom sections by id, after checking that each is known, appears once and in order. */
function sectionsById(sections: Section[]): Map<number, Section> {
  const byId = new Map<number, Section>();
  let lastRank = 0;
  for (const section of sections) {
    if (section.id === SectionId.Custom) continue;
    const rank = SECTION_RANK[section.id];
    if (rank === undefined || rank <= lastRank) throw new NotResettable();
    lastRank = rank;
    byId.set(section.id, section);
  }
  return byId;
}

/** The number of entries of a vector section (0 when it is absent). */
function count(bytes: Uint8Array, section: Section | undefined): number {
  return section ? sectionReader(bytes, section).uleb('the number of entries of a section') : 0;
}

function readImports(bytes: Uint8Array, section: Section | undefined): Imports {
  const imports: Imports = { functions: 0, globals: 0, memories: 0 };
  if (!section) return imports;
  const reader = sectionReader(bytes, section);
  const entries = reader.uleb('the number of imports');
  for (let i = 0; i < entries; i++) {
    reader.name('the module name of an import');
    reader.name('the name of an import');
    const kind = readExternalKind(reader, 'an import');
    readImportDescription(reader, kind, 'an import');
    if (kind === 'function') imports.functions++;
    else if (kind === 'global') imports.globals++;
    else if (kind === 'memory') imports.memories++;
  }
  checkAtEnd(reader);
  return imports;
}

function checkAtEnd(reader: ByteReader): void {
  if (!reader.atEnd) throw new NotResettable();
}

// ---------------------------------------------------------------------------------------------
// Globals

/** Value types a global may have here: numbers, v128 and the two reference types of the MVP. */
const GLOBAL_TYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f]);
/** The numeric constant instructions, by opcode, with the size of their immediate (0: an LEB128). */
const NUMERIC_CONSTANTS = new Map([
  [0x41, 0], // i32.const
  [0x42, 0], // i64.const
  [0x43, 4], // f32.const
  [0x44, 8], // f64.const
]);

/** The defined mutable globals, each with its init instruction; declines one that is not a single numeric constant. */
function mutableGlobals(bytes: Uint8Array, section: Section | undefined, importedGlobals: number): MutableGlobal[] {
  if (!section) return [];
  const reader = sectionReader(bytes, section);
  const entries = reader.uleb('the number of globals');
  const globals: MutableGlobal[] = [];
  for (let i = 0; i < entries; i++) {
    if (!GLOBAL_TYPES.has(reader.byte('the type of a global'))) throw new NotResettable();
    const mutability = reader.byte('the mutability of a global');
    if (mutability > 1) throw new NotResettable();
    if (mutability === 1) globals.push({ index: importedGlobals + i, initInstruction: constantInstruction(reader) });
    else skipConstantExpression(reader);
  }
  checkAtEnd(reader);
  return globals;
}

/** A constant expression of exactly one numeric constant: that instruction's bytes (its `end` read too). */
function constantInstruction(reader: ByteReader): Uint8Array {
  const start = reader.offset;
  const immediateSize = NUMERIC_CONSTANTS.get(reader.byte('a constant expression'));
  if (immediateSize === undefined) throw new NotResettable();
  if (immediateSize === 0) reader.skipSleb('a constant');
  else reader.skip(immediateSize, 'a constant');
  const instruction = reader.bytes.subarray(start, reader.offset);
  if (reader.byte('the end of a constant expression') !== END) throw new NotResettable();
  return instruction;
}

/** The init expression of an immutable global, which a reset leaves alone: only skipped, to its `end`. */
function skipConstantExpression(reader: ByteReader): void {
  for (;;) {
    const opcode = reader.byte('a constant expression');
    const immediateSize = NUMERIC_CONSTANTS.get(opcode);
    if (opcode === END) return;
    if (immediateSize === 0) reader.skipSleb('a constant');
    else if (immediateSize !== undefined) reader.skip(immediateSize, 'a constant');
    else if (opcode === 0x23 || opcode === 0xd2) reader.uleb('an index'); // global.get, ref.func
    else if (opcode === 0xd0) reader.byte('a heap type'); // ref.null
    else if (opcode === 0xfd && reader.uleb('a 0xFD instruction') === 12) reader.skip(16, 'a v128 constant');
    else if (![0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e].includes(opcode)) throw new NotResettable(); // extended constants: add, sub, mul
  }
}

// ---------------------------------------------------------------------------------------------
// Data segments

/** The active segments of memory 0 at constant i32 offsets, in order; declines any other kind. */
function dataSegments(bytes: Uint8Array, section: Section | undefined): DataSegment[] {
  if (!section) return [];
  const reader = sectionReader(bytes, section);
  const entries = reader.uleb('the number of data segments');
  const segments: DataSegment[] = [];
  for (let i = 0; i < entries; i++) {
    const flags = reader.uleb('the flags of a data segment');
    if (flags !== 0 && flags !== 2) throw new NotResettable(); // passive, or unknown
    if (flags === 2 && reader.uleb('the memory of a data segment') !== 0) throw new NotResettable();
    const offsetInstruction = constantInstruction(reader);
    if (offsetInstruction[0] !== I32_CONST) throw new NotResettable();
    const vectorStart = reader.offset;
    const length = reader.uleb('the length of a data segment');
    reader.skip(length, 'a data segment');
    segments.push({ offsetInstruction, length, vector: bytes.subarray(vectorStart, reader.offset) });
  }
  checkAtEnd(reader);
  return segments;
}

/** The data section with each segment passive (flags 1), its bytes unchanged. */
function passiveDataSection(segments: DataSegment[]): Uint8Array {
  const pieces: Uint8Array[] = [Uint8Array.from(encodeUleb(segments.length))];
  for (const segment of segments) pieces.push(Uint8Array.of(0x01), segment.vector);
  return encodedSection(SectionId.Data, concatBytes(pieces));
}

// ---------------------------------------------------------------------------------------------
// Exports and code

/** Declines an export of the reset's name already; answers whether memory 0 is exported. */
function checkExports(bytes: Uint8Array, section: Section | undefined): boolean {
  if (!section) return false;
  const reader = sectionReader(bytes, section);
  const entries = reader.uleb('the number of exports');
  let exportsMemory = false;
  for (let i = 0; i < entries; i++) {
    if (reader.name('the name of an export') === RESET_EXPORT) throw new NotResettable();
    const kind = readExternalKind(reader, 'an export');
    if (reader.uleb('the index of an export') === 0 && kind === 'memory') exportsMemory = true;
  }
  checkAtEnd(reader);
  return exportsMemory;
}

/**
 * The caller zeroes the memory between jobs, so there must be one, and it must be able to reach
 * it: imported, or defined and exported. A second memory would keep one job's bytes for the next.
 */
function checkOneMemoryTheCallerCanZero(imported: number, defined: number, exported: boolean): void {
  if (imported + defined !== 1) throw new NotResettable();
  if (defined === 1 && !exported) throw new NotResettable();
}

/** `(export RESET_EXPORT (func index))` */
function resetExportEntry(functionIndex: number): Uint8Array {
  const name = new TextEncoder().encode(RESET_EXPORT);
  return Uint8Array.from([...encodeUleb(name.length), ...name, FUNCTION_KIND, ...encodeUleb(functionIndex)]);
}

/** What a body may not do if a reset is to restore everything: change a table, or the data segments. */
function changesTablesOrSegments(opcode: number, prefixed: number): boolean {
  if (opcode === 0x26) return true; // table.set
  if (opcode !== 0xfc) return false;
  // memory.init, data.drop, table.init, elem.drop, table.copy, table.grow, table.fill
  return prefixed === 8 || prefixed === 9 || (prefixed >= 12 && prefixed <= 15) || prefixed === 17;
}

/** Decodes every body (fuel.ts's walk), declining one that changes what a reset cannot restore. */
function checkBodies(bytes: Uint8Array, section: Section | undefined, definedFunctions: number): void {
  if (!section) {
    if (definedFunctions !== 0) throw new NotResettable();
    return;
  }
  const reader = sectionReader(bytes, section);
  if (reader.uleb('the number of function bodies') !== definedFunctions) throw new NotResettable();
  const visit = (opcode: number, prefixed: number) => {
    if (changesTablesOrSegments(opcode, prefixed)) throw new NotResettable();
  };
  for (let i = 0; i < definedFunctions; i++) {
    const size = reader.uleb('the size of a function body');
    const body = new ByteReader(bytes, reader.offset, reader.offset + size);
    reader.skip(size, 'a function body');
    skipLocals(body);
    visitInstructions(body, visit);
  }
  checkAtEnd(reader);
}

/**
 * No locals; `memory.init` of each segment at its offset, in order (a later one overwriting an
 * earlier, as at instantiation); each mutable global set to its initial value; `end`.
 */
function resetBody(segments: DataSegment[], globals: MutableGlobal[]): Uint8Array {
  const code: number[] = [0x00];
  segments.forEach((segment, index) => {
    code.push(...segment.offsetInstruction, I32_CONST, 0x00, I32_CONST, ...encodeI32Sleb(segment.length));
    code.push(...MEMORY_INIT, ...encodeUleb(index), 0x00);
  });
  for (const global of globals) code.push(...global.initInstruction, GLOBAL_SET, ...encodeUleb(global.index));
  code.push(END);
  return Uint8Array.from(code);
}

/** A function body as the code section holds it: its size, then itself. */
function sized(body: Uint8Array): Uint8Array {
  return concatBytes([Uint8Array.from(encodeUleb(body.length)), body]);
}

/** The signed LEB128 of an i32.const's immediate: a length of 2^31 or more is written as the negative i32 it is. */
function encodeI32Sleb(value: number): number[] {
  let rest = value | 0;
  const out: number[] = [];
  for (;;) {
    const byte = rest & 0x7f;
    rest >>= 7;
    if ((rest === 0 && (byte & 0x40) === 0) || (rest === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}
