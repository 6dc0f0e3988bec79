/**
 * Meters a module: rewrites it so that it traps after a bounded amount of work ("fuel"), so that
 * the agent can run a job that has proved quick on its own thread, where nothing else could stop
 * it, and fall back to a worker (re-running the job from scratch) when the fuel runs out.
 *
 * One new mutable i32 global holds the fuel left. Every function entry and every loop header
 * checks it, trapping at 0, and takes one from it: any run that does not end calls or loops
 * without bound, so it reaches a check as often as it likes, and traps within `budget` checks.
 * The global is appended after every other global, so no index in the module shifts; it is
 * exported (FUEL_EXPORT) so that the caller can tell a trap of ours from the job's own.
 *
 * A bulk instruction (memory.fill, memory.copy, memory.init, table.fill, table.copy, table.init)
 * does work in proportion to its length operand in one step, so each is preceded by a charge of
 * `length >>> 5` (one unit per 32 bytes or elements), which traps first, fuel set to 0, when it is
 * more than the fuel left: the instruction never runs unpaid. The charge keeps the length in a
 * scratch i32 local appended to the function's locals. A module with a 64-bit memory or table
 * (whose lengths are i64) is declined rather than charged by guess.
 *
 * Finding loop headers means decoding every instruction of every body. The decoder knows the
 * MVP and the finished proposals a toolchain emits (see visitInstructions); anything else (GC,
 * typed function references, new exception handling, an unknown opcode, malformed bytes) makes
 * meterFuel answer undefined: the caller then runs the module unmetered, in a worker, which is
 * always safe. A wrong guess about an opcode's immediates would not be.
 */
import { WasmFormatError } from './errors';
import { concatBytes, encodeUleb } from './memoryCap';
import { ByteReader } from './reader';
import { type Limits, readExternalKind, readImportDescription, readLimits, readSections, type Section, sectionReader } from './sections';

export const FUEL_EXPORT = 'serval:fuel';

/** The most fuel a module can hold: an i32.const, read as a positive number. */
const MAX_BUDGET = 0x7fffffff;

/**
 * Thrown inside this module for anything the rewrite does not know well enough; meterFuel answers
 * undefined. Also thrown by the instruction walk shared with resettable.ts.
 */
export class NotMeterable extends Error {}

/** The module with a fuel check at every function entry and every loop header, or undefined when it cannot be metered safely. */
export function meterFuel(bytes: Uint8Array, budget: number): Uint8Array | undefined {
  if (!Number.isInteger(budget) || budget < 1 || budget > MAX_BUDGET) return undefined;
  try {
    return meter(bytes, budget);
  } catch (error) {
    if (error instanceof NotMeterable || error instanceof WasmFormatError) return undefined;
    throw error;
  }
}

/**
 * True when an instance of a metered module stopped because its fuel ran out (reads its exported fuel global).
 * Meant for after a trap: a run that used exactly its budget and then ended by itself reads 0 too,
 * and a trap of the job's own at that moment would be taken for one of the fuel (re-running it is safe).
 */
export function fuelRanOut(instance: WebAssembly.Instance): boolean {
  const fuel = instance.exports[FUEL_EXPORT];
  return fuel instanceof WebAssembly.Global && fuel.value === 0;
}

// ---------------------------------------------------------------------------------------------
// Sections

const enum Id {
  Custom = 0,
  Type = 1,
  Import = 2,
  Function = 3,
  Table = 4,
  Memory = 5,
  Global = 6,
  Export = 7,
  Code = 10,
}

/** Where each known section may appear, by id (custom sections, 0, may appear anywhere). */
export const SECTION_RANK: Readonly<Record<number, number>> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13 };

const GLOBAL_KIND = 0x03;

function meter(bytes: Uint8Array, budget: number): Uint8Array {
  const sections = readSections(bytes);
  const byId = knownSections(bytes, sections);
  const paramCounts = functionTypeParamCounts(bytes, byId.get(Id.Type));
  const imports = readImports(bytes, byId.get(Id.Import));
  checkNo64BitLimits(bytes, byId.get(Id.Table), byId.get(Id.Memory));
  const fuelGlobal = imports.globals + definedGlobalCount(bytes, byId.get(Id.Global));
  checkNoFuelExport(bytes, byId.get(Id.Export));
  const functionParams = definedFunctionParamCounts(bytes, byId.get(Id.Function), paramCounts);
  const definedFunctions = functionParams.length;

  const replaced = new Map<number, Uint8Array>([
    [Id.Global, withEntry(bytes, byId.get(Id.Global), Id.Global, fuelGlobalEntry(budget))],
    [Id.Export, withEntry(bytes, byId.get(Id.Export), Id.Export, fuelExportEntry(fuelGlobal))],
  ]);
  const code = byId.get(Id.Code);
  if (code) replaced.set(Id.Code, meteredCodeSection(bytes, code, functionParams, fuelGlobal));
  else if (definedFunctions !== 0) throw new NotMeterable();
  return assemble(bytes, sections, replaced);
}

/** The non-custom sections by id, after checking that each is known, appears once and in order. */
function knownSections(bytes: Uint8Array, sections: Section[]): Map<number, Section> {
  const byId = new Map<number, Section>();
  let lastRank = 0;
  for (const section of sections) {
    if (section.id === Id.Custom) {
      checkCustomSection(bytes, section);
      continue;
    }
    const rank = SECTION_RANK[section.id];
    if (rank === undefined || rank <= lastRank) throw new NotMeterable();
    lastRank = rank;
    byId.set(section.id, section);
  }
  return byId;
}

/**
 * Branch hints name instructions by their offset in a body, which the inserted checks move: the
 * engine could then read a hint as one for another instruction. No toolchain we know emits them.
 */
function checkCustomSection(bytes: Uint8Array, section: Section): void {
  if (sectionReader(bytes, section).name('the name of a custom section') === 'metadata.code.branch_hint') throw new NotMeterable();
}

/** Only function types of plain value types: a GC type section (rec, struct, array, sub) is not ours to judge. */
export function checkFunctionTypes(bytes: Uint8Array, section: Section | undefined): void {
  functionTypeParamCounts(bytes, section);
}

/** The number of parameters of each type, after the checks of checkFunctionTypes. */
function functionTypeParamCounts(bytes: Uint8Array, section: Section | undefined): number[] {
  if (!section) return [];
  const reader = sectionReader(bytes, section);
  const count = reader.uleb('the number of types');
  const params: number[] = [];
  for (let i = 0; i < count; i++) {
    if (reader.byte('the form of a type') !== 0x60) throw new NotMeterable();
    params.push(skipValueTypes(reader)); // parameters
    skipValueTypes(reader); // results
  }
  if (!reader.atEnd) throw new NotMeterable();
  return params;
}

/** For each defined function, in the order of the code section, the number of its parameters. */
function definedFunctionParamCounts(bytes: Uint8Array, section: Section | undefined, paramCounts: readonly number[]): number[] {
  if (!section) return [];
  const reader = sectionReader(bytes, section);
  const count = reader.uleb('the number of functions');
  const params: number[] = [];
  for (let i = 0; i < count; i++) {
    const type = paramCounts[reader.uleb('the type index of a function')];
    if (type === undefined) throw new NotMeterable();
    params.push(type);
  }
  if (!reader.atEnd) throw new NotMeterable();
  return params;
}

/** Counts the imported globals; throws NotMeterable for an imported 64-bit memory or table. */
function readImports(bytes: Uint8Array, section: Section | undefined): { globals: number } {
  if (!section) return { globals: 0 };
  const reader = sectionReader(bytes, section);
  const count = reader.uleb('the number of imports');
  let globals = 0;
  for (let i = 0; i < count; i++) {
    reader.name('the module name of an import');
    reader.name('the name of an import');
    const kind = readExternalKind(reader, 'an import');
    if (kind === 'table') {
      skipValueType(reader);
      checkNot64Bit(readLimits(reader, 'an imported table'));
    } else {
      const limits = readImportDescription(reader, kind, 'an import');
      if (limits) checkNot64Bit(limits); // a memory
    }
    if (kind === 'global') globals++;
  }
  if (!reader.atEnd) throw new NotMeterable();
  return { globals };
}

/** Declines defined 64-bit tables and memories: their bulk instructions take an i64 length. */
function checkNo64BitLimits(bytes: Uint8Array, tables: Section | undefined, memories: Section | undefined): void {
  if (tables) {
    const reader = sectionReader(bytes, tables);
    const count = reader.uleb('the number of tables');
    for (let i = 0; i < count; i++) {
      skipValueType(reader); // a table with an initializer (0x40 0x00, typed references) is not ours either
      checkNot64Bit(readLimits(reader, 'a table'));
    }
    if (!reader.atEnd) throw new NotMeterable();
  }
  if (memories) {
    const reader = sectionReader(bytes, memories);
    const count = reader.uleb('the number of memories');
    for (let i = 0; i < count; i++) checkNot64Bit(readLimits(reader, 'a memory'));
    if (!reader.atEnd) throw new NotMeterable();
  }
}

const LIMITS_64_BIT = 0x04;

function checkNot64Bit(limits: Limits): void {
  if (limits.flags & LIMITS_64_BIT) throw new NotMeterable();
}

function definedGlobalCount(bytes: Uint8Array, section: Section | undefined): number {
  return section ? sectionReader(bytes, section).uleb('the number of globals') : 0;
}

function checkNoFuelExport(bytes: Uint8Array, section: Section | undefined): void {
  if (!section) return;
  const reader = sectionReader(bytes, section);
  const count = reader.uleb('the number of exports');
  for (let i = 0; i < count; i++) {
    if (reader.name('the name of an export') === FUEL_EXPORT) throw new NotMeterable();
    readExternalKind(reader, 'an export');
    reader.uleb('the index of an export');
  }
  if (!reader.atEnd) throw new NotMeterable();
}

/** `(global (mut i32) (i32.const budget))` */
function fuelGlobalEntry(budget: number): Uint8Array {
  return Uint8Array.from([0x7f, 0x01, 0x41, ...encodeSleb(budget), 0x0b]);
}

/** `(export FUEL_EXPORT (global index))` */
function fuelExportEntry(globalIndex: number): Uint8Array {
  const name = new TextEncoder().encode(FUEL_EXPORT);
  return Uint8Array.from([...encodeUleb(name.length), ...name, GLOBAL_KIND, ...encodeUleb(globalIndex)]);
}

/** A vector section (count, entries) with one more entry at its end; a new section when there was none. */
export function withEntry(bytes: Uint8Array, section: Section | undefined, id: number, entry: Uint8Array): Uint8Array {
  if (!section) return encodedSection(id, concatBytes([Uint8Array.from([1]), entry]));
  const reader = sectionReader(bytes, section);
  const count = reader.uleb('the number of entries of a section');
  return encodedSection(id, concatBytes([Uint8Array.from(encodeUleb(count + 1)), bytes.subarray(reader.offset, section.end), entry]));
}

export function encodedSection(id: number, content: Uint8Array): Uint8Array {
  return concatBytes([Uint8Array.from([id, ...encodeUleb(content.length)]), content]);
}

/**
 * The module with the replaced sections in place of the originals, and those it did not have
 * (global, export) added where the section order wants them; custom sections stay where they were.
 */
export function assemble(bytes: Uint8Array, sections: Section[], replaced: Map<number, Uint8Array>): Uint8Array {
  const present = new Set(sections.map((section) => section.id));
  const added = [...replaced.keys()].filter((id) => !present.has(id)).sort((a, b) => SECTION_RANK[a]! - SECTION_RANK[b]!);
  const pieces: Uint8Array[] = [bytes.subarray(0, sections[0]?.start ?? bytes.length)];
  for (const section of sections) {
    while (section.id !== Id.Custom && added.length > 0 && SECTION_RANK[added[0]!]! < SECTION_RANK[section.id]!) {
      pieces.push(replaced.get(added.shift()!)!);
    }
    pieces.push(replaced.get(section.id) ?? bytes.subarray(section.start, section.end));
  }
  for (const id of added) pieces.push(replaced.get(id)!);
  return concatBytes(pieces);
}

// ---------------------------------------------------------------------------------------------
// The code section

/** `global.get F; i32.eqz; if unreachable end; global.get F; i32.const 1; i32.sub; global.set F`: stack-neutral. */
function fuelCheck(fuelGlobal: number): Uint8Array {
  const index = encodeUleb(fuelGlobal);
  return Uint8Array.from([0x23, ...index, 0x45, 0x04, 0x40, 0x00, 0x0b, 0x23, ...index, 0x41, 0x01, 0x6b, 0x24, ...index]);
}

/** Bits of a bulk instruction's length that make one unit of fuel: one unit per 32 bytes or elements. */
const BULK_COST_SHIFT = 5;

/**
 * Before a bulk instruction, the length on top of the stack kept in the scratch local S:
 * `local.tee S; local.get S; i32.const 5; i32.shr_u; global.get F; i32.gt_u;
 * if i32.const 0; global.set F; unreachable end;
 * global.get F; local.get S; i32.const 5; i32.shr_u; i32.sub; global.set F`.
 * Takes and leaves the i32 length; like fuelCheck it may use the fuel to 0 but never past it.
 */
function bulkCharge(fuelGlobal: number, scratch: number): Uint8Array {
  const fuel = encodeUleb(fuelGlobal);
  const local = encodeUleb(scratch);
  const cost = [0x20, ...local, 0x41, BULK_COST_SHIFT, 0x76]; // local.get S; i32.const 5; i32.shr_u
  return Uint8Array.from([
    0x22, ...local, // local.tee S
    ...cost,
    0x23, ...fuel, 0x4b, // global.get F; i32.gt_u
    0x04, 0x40, 0x41, 0x00, 0x24, ...fuel, 0x00, 0x0b, // if (i32.const 0; global.set F; unreachable) end
    0x23, ...fuel,
    ...cost,
    0x6b, 0x24, ...fuel, // i32.sub; global.set F
  ]);
}

/** 0xFC opcodes whose work grows with the i32 length on top of the stack. */
const BULK_OPCODES = new Set([
  8, // memory.init
  10, // memory.copy
  11, // memory.fill
  12, // table.init
  14, // table.copy
  17, // table.fill
]);

/**
 * The most locals (parameters included) a function may have and still compile: V8's limit
 * (kV8MaxWasmFunctionLocals); a function that would pass it with the scratch local is declined.
 */
const MAX_FUNCTION_LOCALS = 50_000;

/** A change to a body: the bytes [start, end) replaced by `bytes` (an insertion when start = end). */
interface Edit {
  start: number;
  end: number;
  bytes: Uint8Array;
}

/**
 * Two passes: the first decodes every body and notes its edits (a check per function and per
 * loop; for a body with bulk instructions, a scratch local and a charge before each), the second
 * writes the new section into one buffer of the exact size.
 */
function meteredCodeSection(bytes: Uint8Array, section: Section, functionParams: readonly number[], fuelGlobal: number): Uint8Array {
  const check = fuelCheck(fuelGlobal);
  const reader = sectionReader(bytes, section);
  const count = reader.uleb('the number of function bodies');
  if (count !== functionParams.length) throw new NotMeterable();
  const bodyStarts: number[] = [];
  const bodyEnds: number[] = [];
  const newSizes: number[] = [];
  /** For each body, the number of entries of `edits` up to and including its own. */
  const editEnds: number[] = [];
  const edits: Edit[] = [];
  let contentSize = encodeUleb(count).length;
  for (let i = 0; i < count; i++) {
    const size = reader.uleb('a function body');
    const start = reader.offset;
    reader.skip(size, 'a function body');
    let newSize = size;
    for (const edit of scanBody(new ByteReader(bytes, start, reader.offset), functionParams[i]!, check, fuelGlobal)) {
      edits.push(edit);
      newSize += edit.bytes.length - (edit.end - edit.start);
    }
    contentSize += ulebLength(newSize) + newSize;
    bodyStarts.push(start);
    bodyEnds.push(reader.offset);
    newSizes.push(newSize);
    editEnds.push(edits.length);
  }
  if (!reader.atEnd) throw new NotMeterable();

  const header = [Id.Code, ...encodeUleb(contentSize), ...encodeUleb(count)];
  const out = new Uint8Array(header.length + contentSize - ulebLength(count));
  out.set(header);
  let at = header.length;
  let next = 0;
  for (let i = 0; i < count; i++) {
    const first = next;
    next = editEnds[i]!;
    at = writeUleb(out, at, newSizes[i]!);
    let copiedUpTo = bodyStarts[i]!;
    for (let k = first; k < next; k++) {
      const edit = edits[k]!;
      out.set(bytes.subarray(copiedUpTo, edit.start), at);
      at += edit.start - copiedUpTo;
      out.set(edit.bytes, at);
      at += edit.bytes.length;
      copiedUpTo = edit.end;
    }
    out.set(bytes.subarray(copiedUpTo, bodyEnds[i]!), at);
    at += bodyEnds[i]! - copiedUpTo;
  }
  if (at !== out.length) throw new Error(`the metered code section is ${at} bytes, not the ${out.length} planned`);
  return out;
}

/** One more local declaration: `(1 × i32)`, the scratch local of the bulk charges. */
const SCRATCH_DECLARATION = Uint8Array.from([0x01, 0x7f]);

/**
 * A body's edits, in order: a check after its locals and after each loop's block type; when it
 * has bulk instructions, its locals count rewritten, the scratch local declared last (its index
 * is the number of parameters and locals) and a charge before each bulk instruction.
 */
function scanBody(reader: ByteReader, params: number, check: Uint8Array, fuelGlobal: number): Edit[] {
  const bodyStart = reader.offset;
  const { groups, groupsStart, locals, end: localsEnd } = readLocals(reader);
  const loops: number[] = [];
  const bulk: number[] = [];
  let instructionStart = reader.offset;
  visitInstructions(reader, (opcode, prefixed) => {
    if (opcode === LOOP) loops.push(reader.offset); // where each iteration starts
    else if (opcode === 0xfc && BULK_OPCODES.has(prefixed)) bulk.push(instructionStart);
    instructionStart = reader.offset;
  });

  const insertion = (at: number, inserted: Uint8Array): Edit => ({ start: at, end: at, bytes: inserted });
  if (bulk.length === 0) return [insertion(localsEnd, check), ...loops.map((at) => insertion(at, check))];

  const scratch = params + locals;
  if (scratch + 1 > MAX_FUNCTION_LOCALS) throw new NotMeterable();
  const charge = bulkCharge(fuelGlobal, scratch);
  const edits: Edit[] = [
    { start: bodyStart, end: groupsStart, bytes: Uint8Array.from(encodeUleb(groups + 1)) },
    insertion(localsEnd, concatBytes([SCRATCH_DECLARATION, check])),
  ];
  // Both lists are in body order. A loop's first instruction may be a bulk one (its length a
  // parameter of the loop): both go at one offset, the loop's check first (either order is valid).
  let l = 0;
  let b = 0;
  while (l < loops.length || b < bulk.length) {
    if (b >= bulk.length || (l < loops.length && loops[l]! <= bulk[b]!)) edits.push(insertion(loops[l++]!, check));
    else edits.push(insertion(bulk[b++]!, charge));
  }
  return edits;
}

/**
 * Reads a body's local declarations: how many groups, where the first starts (after their count,
 * whatever its encoding), how many locals in all, and where the instructions start.
 */
function readLocals(reader: ByteReader): { groups: number; groupsStart: number; locals: number; end: number } {
  const groups = reader.uleb('the number of local declarations');
  const groupsStart = reader.offset;
  let locals = 0;
  for (let i = 0; i < groups; i++) {
    locals += reader.uleb('the number of locals');
    skipValueType(reader);
  }
  return { groups, groupsStart, locals, end: reader.offset };
}

// ---------------------------------------------------------------------------------------------
// Instructions

/** The value types a module of the finished proposals uses; references of the GC proposal (0x63/0x64) are not. */
const PLAIN_VALUE_TYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f]);
const EMPTY_BLOCK_TYPE = 0x40;
const LOOP = 0x03;

/** Skips a body's local declarations; returns the offset of its first instruction. */
export function skipLocals(reader: ByteReader): number {
  const groups = reader.uleb('the number of local declarations');
  for (let i = 0; i < groups; i++) {
    reader.uleb('the number of locals');
    skipValueType(reader);
  }
  return reader.offset;
}

/**
 * Told of each instruction once its immediates are read (the reader is just past it): its opcode,
 * and after a 0xFC, 0xFD or 0xFE prefix the opcode that follows (else -1).
 */
export type InstructionVisitor = (opcode: number, prefixed: number) => void;

function skipValueType(reader: ByteReader): void {
  if (!PLAIN_VALUE_TYPES.has(reader.byte('a value type'))) throw new NotMeterable();
}

/** Skips a vector of value types; returns its length. */
function skipValueTypes(reader: ByteReader): number {
  const count = reader.uleb('the number of value types');
  for (let i = 0; i < count; i++) skipValueType(reader);
  return count;
}

/**
 * Walks a body's instructions (after its locals) to its final `end`, telling `visit` of each.
 * Every opcode known has its immediates skipped; any other throws NotMeterable (see the header
 * comment), as do bytes after the final `end`.
 */
export function visitInstructions(reader: ByteReader, visit: InstructionVisitor): void {
  let depth = 1; // the body itself is a block
  for (;;) {
    const opcode = reader.byte('an instruction');
    let prefixed = -1;
    if (opcode >= 0x45 && opcode <= 0xc4) {
      // numeric instructions, sign extension: no immediates
      visit(opcode, prefixed);
      continue;
    }
    switch (opcode) {
      case 0x00: // unreachable
      case 0x01: // nop
      case 0x05: // else
      case 0x0f: // return
      case 0x19: // catch_all
      case 0x1a: // drop
      case 0x1b: // select
      case 0xd1: // ref.is_null
        break;
      case 0x02: // block
      case 0x04: // if
      case 0x06: // try (legacy exception handling)
        skipBlockType(reader);
        depth++;
        break;
      case LOOP:
        skipBlockType(reader);
        depth++;
        break;
      case 0x0b: // end
        if (--depth === 0) {
          if (!reader.atEnd) throw new NotMeterable(); // bytes after the body's end
          visit(opcode, prefixed);
          return;
        }
        break;
      case 0x18: // delegate label: ends a try
        reader.uleb('a label index');
        if (--depth === 0) throw new NotMeterable();
        break;
      case 0x07: // catch tag
      case 0x08: // throw tag
      case 0x09: // rethrow label
      case 0x0c: // br
      case 0x0d: // br_if
      case 0x10: // call
      case 0x12: // return_call
      case 0x20: // local.get
      case 0x21: // local.set
      case 0x22: // local.tee
      case 0x23: // global.get
      case 0x24: // global.set
      case 0x25: // table.get
      case 0x26: // table.set
      case 0x3f: // memory.size memory
      case 0x40: // memory.grow memory
      case 0xd2: // ref.func
        reader.uleb('an index');
        break;
      case 0x0e: // br_table labels default
        skipBrTable(reader);
        break;
      case 0x11: // call_indirect type table
      case 0x13: // return_call_indirect type table
        reader.uleb('a type index');
        reader.uleb('a table index');
        break;
      case 0x1c: // select with types
        skipValueTypes(reader);
        break;
      case 0x41: // i32.const
      case 0x42: // i64.const
        reader.skipSleb('a constant');
        break;
      case 0x43: // f32.const
        reader.skip(4, 'an f32 constant');
        break;
      case 0x44: // f64.const
        reader.skip(8, 'an f64 constant');
        break;
      case 0xd0: // ref.null
        skipHeapType(reader);
        break;
      case 0xfc:
        prefixed = skipMiscInstruction(reader);
        break;
      case 0xfd:
        prefixed = skipSimdInstruction(reader);
        break;
      case 0xfe:
        prefixed = skipAtomicInstruction(reader);
        break;
      default:
        if (opcode >= 0x28 && opcode <= 0x3e) skipMemarg(reader); // loads and stores
        else throw new NotMeterable();
    }
    visit(opcode, prefixed);
  }
}

/** Empty, one value type, or the index of a function type (an s33 that must not be negative). */
function skipBlockType(reader: ByteReader): void {
  if (reader.atEnd) throw reader.truncated('a block type');
  const first = reader.bytes[reader.offset]!;
  if (first === EMPTY_BLOCK_TYPE || PLAIN_VALUE_TYPES.has(first)) {
    reader.offset++;
    return;
  }
  skipTypeIndex(reader);
}

/** An s33 type index: at most 5 bytes, and positive (bit 6 of its last byte clear). */
function skipTypeIndex(reader: ByteReader): void {
  for (let i = 0; i < 5; i++) {
    const byte = reader.byte('a block type');
    if ((byte & 0x80) === 0) {
      if (byte & 0x40) throw new NotMeterable(); // negative: a type code we do not know (GC, exnref...)
      return;
    }
  }
  throw new NotMeterable();
}

/** Only the heap types of reference types (func, extern); those of GC and typed references are not ours. */
function skipHeapType(reader: ByteReader): void {
  const heapType = reader.byte('a heap type');
  if (heapType !== 0x70 && heapType !== 0x6f) throw new NotMeterable();
}

function skipBrTable(reader: ByteReader): void {
  const count = reader.uleb('the number of labels of br_table');
  for (let i = 0; i <= count; i++) reader.uleb('a label index');
}

/** Alignment (bit 6: a memory index follows, multi-memory), then an offset of up to 64 bits (memory64). */
function skipMemarg(reader: ByteReader): void {
  const align = reader.uleb('the alignment of a memory access');
  if (align & 0x40) reader.uleb('the memory index of a memory access');
  reader.uleb('the offset of a memory access', 64);
}

/** 0xFC: saturating truncation, bulk memory and table instructions. */
function skipMiscInstruction(reader: ByteReader): number {
  const opcode = reader.uleb('a 0xFC instruction');
  if (opcode <= 7) return opcode; // trunc_sat
  switch (opcode) {
    case 8: // memory.init data memory
    case 10: // memory.copy memory memory
    case 12: // table.init element table
    case 14: // table.copy table table
      reader.uleb('an index');
      reader.uleb('an index');
      return opcode;
    case 9: // data.drop
    case 11: // memory.fill
    case 13: // elem.drop
    case 15: // table.grow
    case 16: // table.size
    case 17: // table.fill
      reader.uleb('an index');
      return opcode;
    default:
      throw new NotMeterable();
  }
}

const LAST_SIMD_OPCODE = 0x113; // the last of relaxed SIMD

/** 0xFD: SIMD, relaxed SIMD. */
function skipSimdInstruction(reader: ByteReader): number {
  const opcode = reader.uleb('a 0xFD instruction');
  if (opcode <= 11 || opcode === 92 || opcode === 93) skipMemarg(reader); // loads, stores
  else if (opcode === 12 || opcode === 13) reader.skip(16, 'a v128 constant or shuffle'); // v128.const, i8x16.shuffle
  else if (opcode >= 21 && opcode <= 34) reader.byte('a lane index'); // extract_lane, replace_lane
  else if (opcode >= 84 && opcode <= 91) {
    skipMemarg(reader); // load_lane, store_lane
    reader.byte('a lane index');
  } else if (opcode > LAST_SIMD_OPCODE) throw new NotMeterable();
  return opcode;
}

/** 0xFE: threads (atomics). */
function skipAtomicInstruction(reader: ByteReader): number {
  const opcode = reader.uleb('a 0xFE instruction');
  if (opcode <= 2 || (opcode >= 0x10 && opcode <= 0x4e)) skipMemarg(reader); // notify, wait, atomic loads, stores, rmw
  else if (opcode === 3) {
    if (reader.byte('atomic.fence') !== 0x00) throw new NotMeterable();
  } else throw new NotMeterable();
  return opcode;
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** A signed LEB128 of a non-negative integer (the budget of i32.const). */
function encodeSleb(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value === 0 && (byte & 0x40) === 0) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function ulebLength(value: number): number {
  let length = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    length++;
  }
  return length;
}

function writeUleb(out: Uint8Array, at: number, value: number): number {
  for (const byte of encodeUleb(value)) out[at++] = byte;
  return at;
}
