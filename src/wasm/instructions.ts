/**
 * The instruction decoder the module rewrites share (fuel.ts, resettable.ts): it walks a function
 * body and skips every instruction's immediates, telling a visitor of each opcode.
 *
 * It knows the MVP and the finished proposals a toolchain emits (sign extension, reference types,
 * multi-value, bulk memory and table operations, SIMD with relaxed SIMD, threads, tail calls, legacy
 * exception handling). Anything else (GC, typed function references, new exception handling, an
 * unknown opcode, malformed bytes) throws UnsupportedWasm: a rewrite then declines the module, which
 * is always safe. A wrong guess about an opcode's immediates would not be.
 */
import type { ByteReader } from './reader';

/** Code the decoder (or a rewrite) does not know well enough to change safely. */
export class UnsupportedWasm extends Error {}

/** The value types a module of the finished proposals uses; references of the GC proposal (0x63/0x64) are not. */
const PLAIN_VALUE_TYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f]);
const EMPTY_BLOCK_TYPE = 0x40;
export const LOOP = 0x03;

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

export function skipValueType(reader: ByteReader): void {
  if (!PLAIN_VALUE_TYPES.has(reader.byte('a value type'))) throw new UnsupportedWasm();
}

/** Skips a vector of value types; returns its length. */
export function skipValueTypes(reader: ByteReader): number {
  const count = reader.uleb('the number of value types');
  for (let i = 0; i < count; i++) skipValueType(reader);
  return count;
}

/**
 * Walks a body's instructions (after its locals) to its final `end`, telling `visit` of each.
 * Every opcode known has its immediates skipped; any other throws UnsupportedWasm (see the header
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
          if (!reader.atEnd) throw new UnsupportedWasm(); // bytes after the body's end
          visit(opcode, prefixed);
          return;
        }
        break;
      case 0x18: // delegate label: ends a try
        reader.uleb('a label index');
        if (--depth === 0) throw new UnsupportedWasm();
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
        else throw new UnsupportedWasm();
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
      if (byte & 0x40) throw new UnsupportedWasm(); // negative: a type code we do not know (GC, exnref...)
      return;
    }
  }
  throw new UnsupportedWasm();
}

/** Only the heap types of reference types (func, extern); those of GC and typed references are not ours. */
function skipHeapType(reader: ByteReader): void {
  const heapType = reader.byte('a heap type');
  if (heapType !== 0x70 && heapType !== 0x6f) throw new UnsupportedWasm();
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
      throw new UnsupportedWasm();
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
  } else if (opcode > LAST_SIMD_OPCODE) throw new UnsupportedWasm();
  return opcode;
}

/** 0xFE: threads (atomics). */
function skipAtomicInstruction(reader: ByteReader): number {
  const opcode = reader.uleb('a 0xFE instruction');
  if (opcode <= 2 || (opcode >= 0x10 && opcode <= 0x4e)) skipMemarg(reader); // notify, wait, atomic loads, stores, rmw
  else if (opcode === 3) {
    if (reader.byte('atomic.fence') !== 0x00) throw new UnsupportedWasm();
  } else throw new UnsupportedWasm();
  return opcode;
}
