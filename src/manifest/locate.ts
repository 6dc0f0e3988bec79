/**
 * Finds where the top-level keys of a TOML document and their values are, because smol-toml parses
 * values but keeps no positions, and every manifest problem must underline exactly its key or value.
 *
 * One forward pass, no backtracking: it understands just enough TOML to step over values (all four
 * string kinds, arrays and inline tables across lines, comments, CRLF) and it never throws, so
 * editors can use it on half-typed text too. Keys under a `[table]` header are not top-level; the
 * header itself is recorded for its first key segment, because `[name]` defines the key `name`.
 */
import { TextRange } from './types';

/**
 * Where one value is. `range.length` counts UTF-16 units from the start and may run over line
 * breaks (each break counts: 1 for LF, 2 for CRLF), so an editor finds the end with
 * `positionAt(offsetAt(start) + length)`; `offset`/`end` are the same span as plain text offsets.
 */
export interface ValueLocation {
  range: TextRange;
  offset: number;
  end: number;
  /** The value's source text, e.g. `"Bad Name"` with its quotes. */
  text: string;
  /** For an array: where each of its items is, in order. */
  items?: ValueLocation[];
}

export interface KeyLocation {
  /** The first segment of the key, decoded: `name` for `name`, `"name"` or `name.x`. */
  key: string;
  /** All segments of a dotted key (`["a", "b"]` for `a.b = 1`). */
  path: string[];
  /** The whole key as written, dotted parts and quotes included. */
  keyRange: TextRange;
  /** The value; for a `[table]` header, the whole header. */
  valueRange: TextRange;
  value: ValueLocation;
  /** True when the key was defined by a `[table]` or `[[array]]` header. */
  fromHeader: boolean;
}

/** Top-level keys in document order; the first definition wins when a key repeats. */
export type KeyLocations = Map<string, KeyLocation>;

const BARE_KEY_CHAR = /[A-Za-z0-9_-]/;
const BYTE_ORDER_MARK = 0xfeff;

class Cursor {
  pos = 0;
  private readonly lineStarts: number[] = [0];

  constructor(readonly text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) {
      this.lineStarts.push(i + 1);
    }
  }

  get done(): boolean {
    return this.pos >= this.text.length;
  }

  peek(ahead = 0): string {
    return this.text.charAt(this.pos + ahead);
  }

  startsWith(token: string): boolean {
    return this.text.startsWith(token, this.pos);
  }

  /** Skips spaces and tabs (not line breaks). */
  skipBlanks(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }

  skipComment(): void {
    if (this.peek() === '#') this.skipToLineEnd();
  }

  skipToLineEnd(): void {
    const newline = this.text.indexOf('\n', this.pos);
    this.pos = newline < 0 ? this.text.length : newline;
  }

  /** Skips blanks, comments and line breaks: everything between array items. */
  skipBlanksCommentsAndNewlines(): void {
    for (;;) {
      const start = this.pos;
      this.skipBlanks();
      this.skipComment();
      if (this.peek() === '\r' && this.peek(1) === '\n') this.pos++;
      if (this.peek() === '\n') this.pos++;
      if (this.pos === start) return;
    }
  }

  range(offset: number, end: number): TextRange {
    const line = this.lineOf(offset);
    return { line, column: offset - this.lineStarts[line], length: end - offset };
  }

  private lineOf(offset: number): number {
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.lineStarts[middle] <= offset) low = middle;
      else high = middle - 1;
    }
    return low;
  }
}

/**
 * The line and column where `range` ends in `text`, for ranges whose length runs over line breaks
 * (multi-line strings, arrays). Editors with offset conversion (VS Code's `positionAt`) need not.
 */
export function rangeEnd(text: string, range: TextRange): { line: number; column: number } {
  let line = range.line;
  let lineStart = 0;
  for (let i = 0; i < range.line; i++) lineStart = text.indexOf('\n', lineStart) + 1;
  const end = lineStart + range.column + range.length;
  for (let i = text.indexOf('\n', lineStart); i >= 0 && i < end; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: end - lineStart };
}

/** Locates the top-level keys of `text`. Never throws. */
export function locateKeys(text: string): KeyLocations {
  const cursor = new Cursor(text);
  // A UTF-8 BOM (Notepad saves one) is no part of the first key; offsets still count it.
  if (text.charCodeAt(0) === BYTE_ORDER_MARK) cursor.pos = 1;
  const locations: KeyLocations = new Map();
  let topLevel = true;
  while (!cursor.done) {
    cursor.skipBlanksCommentsAndNewlines();
    if (cursor.done) break;
    const lineStart = cursor.pos;
    if (cursor.peek() === '[') {
      const header = readHeader(cursor);
      topLevel = false;
      if (header && !locations.has(header.key)) locations.set(header.key, header);
    } else {
      const entry = readKeyValue(cursor);
      if (entry && topLevel && !locations.has(entry.key)) locations.set(entry.key, entry);
    }
    finishLine(cursor, lineStart);
  }
  return locations;
}

/** After a statement, moves to the next line; always makes progress so broken text cannot loop. */
function finishLine(cursor: Cursor, statementStart: number): void {
  cursor.skipBlanks();
  cursor.skipComment();
  if (cursor.peek() !== '\n' && cursor.peek() !== '\r') cursor.skipToLineEnd();
  if (cursor.pos === statementStart) cursor.pos++;
}

interface ParsedKey {
  path: string[];
  offset: number;
  end: number;
}

function readKeyValue(cursor: Cursor): KeyLocation | undefined {
  const key = readDottedKey(cursor);
  if (!key) return undefined;
  cursor.skipBlanks();
  if (cursor.peek() !== '=') return undefined;
  cursor.pos++;
  cursor.skipBlanks();
  return keyLocation(cursor, key, readValue(cursor), false);
}

function readHeader(cursor: Cursor): KeyLocation | undefined {
  const offset = cursor.pos;
  const brackets = cursor.startsWith('[[') ? 2 : 1;
  cursor.pos += brackets;
  cursor.skipBlanks();
  const key = readDottedKey(cursor);
  if (!key) return undefined;
  cursor.skipBlanks();
  if (cursor.startsWith(']'.repeat(brackets))) cursor.pos += brackets;
  // A `[table]` header defines its first key: its "value" is the whole header.
  return keyLocation(cursor, key, valueAt(cursor, offset, cursor.pos), true);
}

function keyLocation(cursor: Cursor, key: ParsedKey, value: ValueLocation, fromHeader: boolean): KeyLocation {
  return {
    key: key.path[0],
    path: key.path,
    keyRange: cursor.range(key.offset, key.end),
    valueRange: value.range,
    value,
    fromHeader,
  };
}

function readDottedKey(cursor: Cursor): ParsedKey | undefined {
  const offset = cursor.pos;
  const path: string[] = [];
  let end = offset;
  for (;;) {
    const segment = readSimpleKey(cursor);
    if (segment === undefined) break;
    path.push(segment);
    end = cursor.pos;
    cursor.skipBlanks();
    if (cursor.peek() !== '.') break;
    cursor.pos++;
    cursor.skipBlanks();
  }
  cursor.pos = end;
  return path.length > 0 ? { path, offset, end } : undefined;
}

function readSimpleKey(cursor: Cursor): string | undefined {
  const first = cursor.peek();
  if (first === '"' || first === "'") {
    const start = cursor.pos;
    skipSingleLineString(cursor, first);
    return decodeQuotedKey(cursor.text.slice(start, cursor.pos));
  }
  const start = cursor.pos;
  while (BARE_KEY_CHAR.test(cursor.peek())) cursor.pos++;
  return cursor.pos > start ? cursor.text.slice(start, cursor.pos) : undefined;
}

/** Turns `"a\tb"` or `'a'` into the key it names. Escapes are rare in keys, so keep it simple. */
function decodeQuotedKey(raw: string): string {
  const quote = raw.charAt(0);
  const inner = raw.endsWith(quote) && raw.length > 1 ? raw.slice(1, -1) : raw.slice(1);
  if (quote === "'" || !inner.includes('\\')) return inner;
  try {
    return JSON.parse(`"${inner.replace(/\\U([0-9A-Fa-f]{8})/g, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16)))}"`) as string;
  } catch {
    return inner;
  }
}

function valueAt(cursor: Cursor, offset: number, end: number, items?: ValueLocation[]): ValueLocation {
  const location: ValueLocation = { range: cursor.range(offset, end), offset, end, text: cursor.text.slice(offset, end) };
  if (items) location.items = items;
  return location;
}

function readValue(cursor: Cursor): ValueLocation {
  const offset = cursor.pos;
  if (cursor.startsWith('"""') || cursor.startsWith("'''")) {
    skipMultiLineString(cursor, cursor.peek());
  } else if (cursor.peek() === '"' || cursor.peek() === "'") {
    skipSingleLineString(cursor, cursor.peek());
  } else if (cursor.peek() === '[') {
    return readArray(cursor);
  } else if (cursor.peek() === '{') {
    skipInlineTable(cursor);
  } else {
    skipScalar(cursor);
  }
  return valueAt(cursor, offset, cursor.pos);
}

/** Reads past a `"..."` or `'...'` string; stops at the line's end if it is unterminated. */
function skipSingleLineString(cursor: Cursor, quote: string): void {
  cursor.pos++;
  while (!cursor.done) {
    const char = cursor.peek();
    if (char === '\n' || (char === '\r' && cursor.peek(1) === '\n')) return;
    cursor.pos++;
    if (char === quote) return;
    if (char === '\\' && quote === '"' && cursor.peek() !== '\n') cursor.pos++;
  }
}

/** Reads past a `"""..."""` or `'''...'''` string, whose closing run may hold up to five quotes. */
function skipMultiLineString(cursor: Cursor, quote: string): void {
  const delimiter = quote.repeat(3);
  cursor.pos += 3;
  while (!cursor.done) {
    if (quote === '"' && cursor.peek() === '\\') {
      cursor.pos += 2;
    } else if (cursor.startsWith(delimiter)) {
      let run = 3;
      while (run < 5 && cursor.peek(run) === quote) run++;
      cursor.pos += run;
      return;
    } else {
      cursor.pos++;
    }
  }
}

/** Numbers, booleans, dates: up to a separator. A space inside `1979-05-27 07:32:00` is kept. */
function skipScalar(cursor: Cursor): void {
  const start = cursor.pos;
  const isEnd = (char: string): boolean => char === '' || /[\s,\]}#]/.test(char);
  while (!isEnd(cursor.peek())) cursor.pos++;
  const token = cursor.text.slice(start, cursor.pos);
  if (/^\d{4}-\d{2}-\d{2}$/.test(token) && cursor.peek() === ' ' && /\d/.test(cursor.peek(1))) {
    cursor.pos++;
    while (!isEnd(cursor.peek())) cursor.pos++;
  }
}

/** Reads an array and where each of its items is; stops quietly where the text breaks off. */
function readArray(cursor: Cursor): ValueLocation {
  const offset = cursor.pos;
  cursor.pos++;
  const items: ValueLocation[] = [];
  for (;;) {
    cursor.skipBlanksCommentsAndNewlines();
    if (cursor.done) break;
    if (cursor.peek() === ']') {
      cursor.pos++;
      break;
    }
    const before = cursor.pos;
    items.push(readValue(cursor));
    cursor.skipBlanksCommentsAndNewlines();
    if (cursor.peek() === ',') cursor.pos++;
    else if (cursor.peek() !== ']' || cursor.pos === before) break;
  }
  return valueAt(cursor, offset, cursor.pos, items);
}

function skipInlineTable(cursor: Cursor): void {
  cursor.pos++;
  for (;;) {
    cursor.skipBlanksCommentsAndNewlines();
    if (cursor.done) return;
    if (cursor.peek() === '}') {
      cursor.pos++;
      return;
    }
    const before = cursor.pos;
    if (!readDottedKey(cursor)) return;
    cursor.skipBlanks();
    if (cursor.peek() !== '=') return;
    cursor.pos++;
    cursor.skipBlanks();
    readValue(cursor);
    cursor.skipBlanksCommentsAndNewlines();
    if (cursor.peek() === ',') cursor.pos++;
    else if (cursor.peek() !== '}' || cursor.pos === before) return;
  }
}
