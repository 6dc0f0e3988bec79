import { WasmFormatError } from './errors';
import { ByteReader } from './reader';

/** Section ids of the WebAssembly binary format. */
export const enum SectionId {
  Custom = 0,
  Type = 1,
  Import = 2,
  Function = 3,
  Table = 4,
  Memory = 5,
  Global = 6,
  Export = 7,
  Start = 8,
  Element = 9,
  Code = 10,
  Data = 11,
  DataCount = 12,
  Tag = 13,
}

/**
 * Where each known section may appear, by id: the order the binary format requires (the data count
 * section before code, tags between memory and globals). Custom sections may appear anywhere.
 */
export const SECTION_RANK: Readonly<Record<number, number>> = {
  [SectionId.Type]: 1,
  [SectionId.Import]: 2,
  [SectionId.Function]: 3,
  [SectionId.Table]: 4,
  [SectionId.Memory]: 5,
  [SectionId.Tag]: 6,
  [SectionId.Global]: 7,
  [SectionId.Export]: 8,
  [SectionId.Start]: 9,
  [SectionId.Element]: 10,
  [SectionId.DataCount]: 11,
  [SectionId.Code]: 12,
  [SectionId.Data]: 13,
};

export type ExternalKind = 'function' | 'table' | 'memory' | 'global' | 'tag';
const EXTERNAL_KINDS: readonly ExternalKind[] = ['function', 'table', 'memory', 'global', 'tag'];

export interface Section {
  id: number;
  /** Offset of the section id byte. */
  start: number;
  /** Offset of the first content byte (after the size). */
  contentStart: number;
  /** Offset just past the content. */
  end: number;
}

/** Memory or table limits, with where they sit in the module so they can be rewritten. */
export interface Limits {
  flags: number;
  min: number;
  max?: number;
  /** Offsets of the flags byte and just past the last limits byte. */
  start: number;
  end: number;
}

const MAGIC = [0x00, 0x61, 0x73, 0x6d];
const HEADER_LENGTH = 8;

/** Checks the magic number and version, then lists the sections with their bounds. */
export function readSections(bytes: Uint8Array): Section[] {
  checkHeader(bytes);
  const reader = new ByteReader(bytes, HEADER_LENGTH);
  const sections: Section[] = [];
  while (!reader.atEnd) {
    const start = reader.offset;
    const id = reader.byte('a section id');
    const size = reader.uleb(`the size of section ${id}`);
    const contentStart = reader.offset;
    reader.skip(size, `section ${id} (${size} bytes declared)`);
    sections.push({ id, start, contentStart, end: reader.offset });
  }
  return sections;
}

function checkHeader(bytes: Uint8Array): void {
  if (bytes.length < 4 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new WasmFormatError(
      'not a WebAssembly module: it does not start with \\0asm. Upload the compiled .wasm file, not its source or a text (.wat) file.',
    );
  }
  if (bytes.length < HEADER_LENGTH) {
    throw new WasmFormatError('the WebAssembly module is truncated: it ends inside its 8-byte header. Upload the whole .wasm file.');
  }
  const version = bytes[4] | (bytes[5] << 8) | (bytes[6] << 16) | (bytes[7] << 24);
  if (version !== 1) {
    // A component (version 0x0d, layer 1) never reaches here: callers ask wasmLayer() first.
    throw new WasmFormatError(
      `unsupported WebAssembly binary version ${version >>> 0}: neither a core module (01 00 00 00) nor a component (0d 00 01 00). Build a WASI preview1 module or a WASI 0.2 component.`,
    );
  }
}

export function sectionReader(bytes: Uint8Array, section: Section): ByteReader {
  return new ByteReader(bytes, section.contentStart, section.end);
}

export function readExternalKind(reader: ByteReader, what: string): ExternalKind {
  const code = reader.byte(`the kind of ${what}`);
  const kind = EXTERNAL_KINDS[code];
  if (kind === undefined) throw reader.malformed(`${what} has an unknown kind 0x${code.toString(16)}`, reader.offset - 1);
  return kind;
}

/** Limits of a memory (or table): flags, minimum, optional maximum; 64-bit when flag 0x04 is set. */
export function readLimits(reader: ByteReader, what: string): Limits {
  const start = reader.offset;
  const flags = reader.byte(`the limits of ${what}`);
  if (flags > 0x07) throw reader.malformed(`the limits of ${what} have unknown flags 0x${flags.toString(16)}`, start);
  const bits = flags & 0x04 ? 64 : 32;
  const min = reader.uleb(`the minimum of ${what}`, bits);
  const max = flags & 0x01 ? reader.uleb(`the maximum of ${what}`, bits) : undefined;
  return { flags, min, max, start, end: reader.offset };
}

/** A value type, including the typed references of the GC proposal (0x63/0x64 + heap type). */
export function skipValueType(reader: ByteReader, what: string): void {
  const code = reader.byte(`the type of ${what}`);
  if (code === 0x63 || code === 0x64) reader.skipSleb(`the heap type of ${what}`);
}

/** Skips the description of an imported table, global or tag; returns the limits of a memory. */
export function readImportDescription(reader: ByteReader, kind: ExternalKind, what: string): Limits | undefined {
  switch (kind) {
    case 'function':
      reader.uleb(`the type index of ${what}`);
      return undefined;
    case 'table':
      skipValueType(reader, what);
      readLimits(reader, what);
      return undefined;
    case 'memory':
      return readLimits(reader, what);
    case 'global':
      skipValueType(reader, what);
      reader.byte(`the mutability of ${what}`);
      return undefined;
    case 'tag':
      reader.byte(`the attribute of ${what}`);
      reader.uleb(`the type index of ${what}`);
      return undefined;
  }
}
