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
 * Finding loop headers means decoding every instruction of every body (instructions.ts); what the
 * decoder does not know makes meterFuel answer undefined: the caller then runs the module
 * unmetered, in a worker, which is always safe.
 */
import { assemble, withEntry } from './assemble';
import { WasmFormatError } from './errors';
import { LOOP, skipValueType, skipValueTypes, UnsupportedWasm, visitInstructions } from './instructions';
import { concatBytes, encodeUleb } from './memoryCap';
import { ByteReader } from './reader';
import { type Limits, readExternalKind, readImportDescription, readLimits, readSections, SECTION_RANK, type Section, SectionId, sectionReader } from './sections';

export const FUEL_EXPORT = 'serval:fuel';

/** The most fuel a module can hold: an i32.const, read as a positive number. */
const MAX_BUDGET = 0x7fffffff;

/** The module with a fuel check at every function entry and every loop header, or undefined when it cannot be metered safely. */
export function meterFuel(bytes: Uint8Array, budget: number): Uint8Array | undefined {
  if (!Number.isInteger(budget) || budget < 1 || budget > MAX_BUDGET) return undefined;
  try {
    return meter(bytes, budget);
  } catch (error) {
    if (error instanceof UnsupportedWasm || error instanceof WasmFormatError) return undefined;
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



const GLOBAL_KIND = 0x03;

function meter(bytes: Uint8Array, budget: number): Uint8Array {
  const sections = readSections(bytes);
  const byId = knownSections(bytes, sections);
  const paramCounts = functionTypeParamCounts(bytes, byId.get(SectionId.Type));
  const imports = readImports(bytes, byId.get(SectionId.Import));
  checkNo64BitLimits(bytes, byId.get(SectionId.Table), byId.get(SectionId.Memory));
  const fuelGlobal = imports.globals + definedGlobalCount(bytes, byId.get(SectionId.Global));
  checkNoFuelExport(bytes, byId.get(SectionId.Export));
  const functionParams = definedFunctionParamCounts(bytes, byId.get(SectionId.Function), paramCounts);
  const definedFunctions = functionParams.length;

  const replaced = new Map<number, Uint8Array>([
    [SectionId.Global, withEntry(bytes, byId.get(SectionId.Global), SectionId.Global, fuelGlobalEntry(budget))],
    [SectionId.Export, withEntry(bytes, byId.get(SectionId.Export), SectionId.Export, fuelExportEntry(fuelGlobal))],
  ]);
  const code = byId.get(SectionId.Code);
  if (code) replaced.set(SectionId.Code, meteredCodeSection(bytes, code, functionParams, fuelGlobal));
  else if (definedFunctions !== 0) throw new UnsupportedWasm();
  return assemble(bytes, sections, replaced);
}

/** The non-custom sections by id, after checking that each is known, appears once and in order. */
function knownSections(bytes: Uint8Array, sections: Section[]): Map<number, Section> {
  const byId = new Map<number, Section>();
  let lastRank = 0;
  for (const section of sections) {
    if (section.id === SectionId.Custom) {
      checkCustomSection(bytes, section);
      continue;
    }
    const rank = SECTION_RANK[section.id];
    if (rank === undefined || rank <= lastRank) throw new UnsupportedWasm();
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
  if (sectionReader(bytes, section).name('the name of a custom section') === 'metadata.code.branch_hint') throw new UnsupportedWasm();
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
    if (reader.byte('the form of a type') !== 0x60) throw new UnsupportedWasm();
    params.push(skipValueTypes(reader)); // parameters
    skipValueTypes(reader); // results
  }
  if (!reader.atEnd) throw new UnsupportedWasm();
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
    if (type === undefined) throw new UnsupportedWasm();
    params.push(type);
  }
  if (!reader.atEnd) throw new UnsupportedWasm();
  return params;
}

/** Counts the imported globals; throws UnsupportedWasm for an imported 64-bit memory or table. */
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
  if (!reader.atEnd) throw new UnsupportedWasm();
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
    if (!reader.atEnd) throw new UnsupportedWasm();
  }
  if (memories) {
    const reader = sectionReader(bytes, memories);
    const count = reader.uleb('the number of memories');
    for (let i = 0; i < count; i++) checkNot64Bit(readLimits(reader, 'a memory'));
    if (!reader.atEnd) throw new UnsupportedWasm();
  }
}

const LIMITS_64_BIT = 0x04;

function checkNot64Bit(limits: Limits): void {
  if (limits.flags & LIMITS_64_BIT) throw new UnsupportedWasm();
}

function definedGlobalCount(bytes: Uint8Array, section: Section | undefined): number {
  return section ? sectionReader(bytes, section).uleb('the number of globals') : 0;
}

function checkNoFuelExport(bytes: Uint8Array, section: Section | undefined): void {
  if (!section) return;
  const reader = sectionReader(bytes, section);
  const count = reader.uleb('the number of exports');
  for (let i = 0; i < count; i++) {
    if (reader.name('the name of an export') === FUEL_EXPORT) throw new UnsupportedWasm();
    readExternalKind(reader, 'an export');
    reader.uleb('the index of an export');
  }
  if (!reader.atEnd) throw new UnsupportedWasm();
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
  if (count !== functionParams.length) throw new UnsupportedWasm();
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
  if (!reader.atEnd) throw new UnsupportedWasm();

  const header = [SectionId.Code, ...encodeUleb(contentSize), ...encodeUleb(count)];
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
  if (scratch + 1 > MAX_FUNCTION_LOCALS) throw new UnsupportedWasm();
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
