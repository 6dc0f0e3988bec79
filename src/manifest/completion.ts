/**
 * Completion in a manifest, as data: which keys and values fit at the cursor, with their docs and
 * the snippet text to insert. The VS Code adapter (src/extension/manifestEditing) only converts.
 *
 * Completion, hover and quick fixes run while the user is half-way through typing, when the text is
 * often not valid TOML yet, so they read the manifest through `locateKeys`, which never fails on
 * half-typed text, instead of a TOML parser.
 */
import { KEY_INFO, KeyInfo, typeName } from './keys';
import { KeyLocation, locateKeys } from './locate';
import { MANIFEST_TEMPLATE, MANIFEST_TEMPLATE_NAME } from './template';
import { MANIFEST_KEYS, TextRange } from './types';

// ---------------------------------------------------------------------------------------------
// Reading a manifest while it is being typed
// ---------------------------------------------------------------------------------------------

export interface KeyLine {
  /** The key's first segment, unquoted (`"name"` and `name` both give `name`). */
  key: string;
  /** Zero-based line of the key. */
  line: number;
  keyRange: TextRange;
  /** The value's text on its first line (comments excluded). Empty when nothing follows `=`. */
  valueRange: TextRange;
  valueText: string;
  /** The value when it is a one-line basic or literal string. */
  stringValue?: string;
  /** Last line of the value: later than `line` for multi-line arrays and strings. */
  endLine: number;
}

const TABLE_HEADER = /^\s*\[/;

/** Splits on the line breaks TOML allows (LF, CRLF); columns stay in UTF-16 units like editors. */
export function splitLines(text: string): string[] {
  return text.split(/\r?\n/);
}

/** The top-level `key = value` lines in document order (`[table]` headers and their keys left out). */
export function scanKeyLines(text: string): KeyLine[] {
  return [...locateKeys(text).values()].filter((location) => !location.fromHeader).map(toKeyLine);
}

function toKeyLine(location: KeyLocation): KeyLine {
  const valueLines = splitLines(location.value.text);
  const valueText = valueLines[0];
  const { line, column } = location.valueRange;
  return {
    key: location.key,
    line: location.keyRange.line,
    keyRange: location.keyRange,
    valueRange: { line, column, length: valueText.length },
    valueText,
    stringValue: valueLines.length === 1 ? stringValueOf(valueText) : undefined,
    endLine: line + valueLines.length - 1,
  };
}

/** Index of the `#` that starts a comment, ignoring `#` inside strings; -1 when none. */
export function commentStart(lineText: string): number {
  let quote: string | undefined;
  for (let i = 0; i < lineText.length; i++) {
    const char = lineText[i];
    if (quote !== undefined) {
      if (char === '\\' && quote === '"') {
        i++;
      } else if (char === quote) {
        quote = undefined;
      }
    } else if (char === '"' || char === "'") {
      quote = char;
    } else if (char === '#') {
      return i;
    }
  }
  return -1;
}

/** Decodes a one-line string value; `undefined` for anything else. */
export function stringValueOf(valueText: string): string | undefined {
  const basic = /^"((?:[^"\\]|\\.)*)"$/.exec(valueText);
  if (basic) {
    const escapes: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
    return basic[1].replace(/\\(["\\bfnrt])/g, (_, char: string) => escapes[char] ?? char);
  }
  const literal = /^'([^']*)'$/.exec(valueText);
  return literal ? literal[1] : undefined;
}

/** The key line whose key or value covers `line`, multi-line values included. */
export function keyLineAt(keyLines: readonly KeyLine[], line: number): KeyLine | undefined {
  return keyLines.find((keyLine) => line >= keyLine.line && line <= keyLine.endLine);
}

/** Line of the first `[table]` header outside values, or the number of lines when there is none. */
export function firstTableLine(text: string, keyLines: readonly KeyLine[]): number {
  const lines = splitLines(text);
  const index = lines.findIndex((lineText, line) => TABLE_HEADER.test(lineText) && keyLineAt(keyLines, line) === undefined);
  return index < 0 ? lines.length : index;
}

// ---------------------------------------------------------------------------------------------
// Completion
// ---------------------------------------------------------------------------------------------

export type CompletionEntryKind = 'key' | 'version' | 'file' | 'permission' | 'snippet';

/** One completion item as data; the VS Code adapter turns it into a CompletionItem. */
export interface CompletionEntry {
  label: string;
  kind: CompletionEntryKind;
  /** One line shown next to the label. */
  detail: string;
  /** Markdown shown in the details pane. */
  documentation?: string;
  /** Snippet text (`$1`, `${1:NAME}`) that replaces `range`. */
  insertSnippet: string;
  /** The text it replaces, on the cursor's line. */
  range: TextRange;
  /** What the editor matches the typed text against (the replaced text plus the label for values). */
  filterText: string;
  /** Orders the list: entries of one request sort by it. */
  sortText: string;
  preselect?: boolean;
}

export interface CompletionRequest {
  text: string;
  /** Zero-based cursor position; column in UTF-16 code units. */
  line: number;
  column: number;
  /** `.wasm` files of the workspace, relative to the manifest's folder, `/`-separated. */
  wasmFiles?: readonly string[];
}

/** Completion at the cursor: keys at the start of a line, known values after `key =`. */
export function completeManifest(request: CompletionRequest): CompletionEntry[] {
  const lines = splitLines(request.text);
  const lineText = lines[request.line] ?? '';
  const keyLines = scanKeyLines(request.text);
  if (request.line >= firstTableLine(request.text, keyLines)) {
    return []; // every manifest key is top level: nothing we know belongs inside a [table]
  }
  const owner = keyLineAt(keyLines, request.line);
  if (owner === undefined || isOnKey(owner, request)) {
    return completeKeys(keyLines, lineText, request);
  }
  return completeValue(owner, lineText, request);
}

function isOnKey(owner: KeyLine, request: CompletionRequest): boolean {
  return owner.line === request.line && request.column <= owner.keyRange.column + owner.keyRange.length;
}

// -- keys --------------------------------------------------------------------------------------

function completeKeys(keyLines: readonly KeyLine[], lineText: string, request: CompletionRequest): CompletionEntry[] {
  const before = lineText.slice(0, request.column);
  if (!/^\s*[A-Za-z0-9_-]*$/.test(before)) {
    return []; // inside a comment, a string or after a value: no key can start here
  }
  const word = wordAround(lineText, request.line, request.column, /[A-Za-z0-9_-]/);
  const hasEquals = /^\s*=/.test(lineText.slice(word.column + word.length));
  const present = new Set(keyLines.filter((keyLine) => keyLine.line !== request.line).map((keyLine) => keyLine.key));
  const keys = MANIFEST_KEYS.filter((key) => !present.has(key)).map((key, index) => keyEntry(KEY_INFO[key], word, hasEquals, index));
  // The whole template only where it fits: a manifest with no key yet. Elsewhere it would add a
  // second `name`, `version`, … to a manifest that has them.
  return present.size === 0 && !hasEquals ? [templateEntry(word), ...keys] : keys;
}

function templateEntry(range: TextRange): CompletionEntry {
  return {
    label: MANIFEST_TEMPLATE_NAME,
    kind: 'snippet',
    detail: 'a whole manifest: name, namespace, version, binary, description, extensions, permissions',
    insertSnippet: MANIFEST_TEMPLATE,
    range,
    filterText: 'serval-manifest',
    sortText: '0',
  };
}

function keyEntry(info: KeyInfo, range: TextRange, keyOnly: boolean, index: number): CompletionEntry {
  return {
    label: info.key,
    kind: 'key',
    detail: `${info.required ? 'required' : 'optional'} ${typeName(info.type)}: ${info.summary}`,
    documentation: info.documentation,
    insertSnippet: keyOnly ? info.key : `${info.key} = ${valueSnippet(info)}`,
    range,
    filterText: info.key,
    // Required keys first, each group in the order a manifest lists them.
    sortText: `${info.required ? 0 : 1}${String(index).padStart(2, '0')}`,
  };
}

function valueSnippet(info: KeyInfo): string {
  if (info.type === 'table') return '{ ${1:KEY} = "$2" }';
  return info.type === 'string' ? '"$1"' : '[$1]';
}

// -- values ------------------------------------------------------------------------------------

function completeValue(owner: KeyLine, lineText: string, request: CompletionRequest): CompletionEntry[] {
  switch (owner.key) {
    case 'version':
      return owner.line === request.line ? completeVersion(owner) : [];
    case 'binary':
      return owner.line === request.line ? completeBinary(owner, request.wasmFiles ?? []) : [];
    case 'required_permissions':
      return completePermissions(owner, lineText, request);
    default:
      return [];
  }
}

/**
 * The whole value, quotes included, is replaced. Its text leads the filter text so that the editor,
 * which filters on what lies between the range start and the cursor, keeps every suggestion: a
 * next version or another file never starts with the current value.
 */
function valueRange(owner: KeyLine): TextRange {
  return owner.valueRange;
}

function completeVersion(owner: KeyLine): CompletionEntry[] {
  const range = valueRange(owner);
  return nextVersions(owner.stringValue ?? '').map((next, index) => ({
    label: next.version,
    kind: 'version' as const,
    detail: next.why,
    insertSnippet: `"${escapeSnippet(next.version)}"`,
    range,
    filterText: `${owner.valueText}${next.version}`,
    sortText: String(index),
    preselect: index === 0,
  }));
}

export interface NextVersion {
  version: string;
  /** e.g. `patch: 1.2.3 → 1.2.4`. */
  why: string;
}

/**
 * The versions that may follow `current`: patch, minor and major bumps of a semantic version (a
 * pre-release first offers its own release), or starting versions when `current` is not semver.
 */
export function nextVersions(current: string): NextVersion[] {
  const semver = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(current.trim());
  if (!semver) {
    return [
      { version: '0.1.0', why: 'first development version' },
      { version: '1.0.0', why: 'first stable version' },
    ];
  }
  const [major, minor, patch] = semver.slice(1, 4).map(Number);
  const bumps: NextVersion[] = [];
  if (semver[4] !== undefined) {
    bumps.push({ version: `${major}.${minor}.${patch}`, why: `release of ${current}` });
  }
  bumps.push(
    { version: `${major}.${minor}.${patch + 1}`, why: `patch: ${current} → ${major}.${minor}.${patch + 1}` },
    { version: `${major}.${minor + 1}.0`, why: `minor: ${current} → ${major}.${minor + 1}.0` },
    { version: `${major + 1}.0.0`, why: `major: ${current} → ${major + 1}.0.0` },
  );
  return bumps;
}

function completeBinary(owner: KeyLine, wasmFiles: readonly string[]): CompletionEntry[] {
  const range = valueRange(owner);
  return [...wasmFiles].sort(byDepthThenName).map((file, index) => ({
    label: file,
    kind: 'file' as const,
    detail: 'WebAssembly module in the workspace',
    insertSnippet: `"${escapeSnippet(escapeBasic(file))}"`,
    range,
    filterText: `${owner.valueText}${file}`,
    sortText: String(index).padStart(4, '0'),
    preselect: index === 0,
  }));
}

/** Files next to the manifest first: they are the likeliest binaries. */
function byDepthThenName(a: string, b: string): number {
  const depth = (path: string): number => path.split('/').filter((part) => part === '..').length * 100 + path.split('/').length;
  return depth(a) - depth(b) || a.localeCompare(b);
}

function completePermissions(owner: KeyLine, lineText: string, request: CompletionRequest): CompletionEntry[] {
  const token = listTokenAt(lineText, request.column, owner.line === request.line ? owner.valueRange.column : 0);
  if (token === undefined) {
    return [];
  }
  const listed = new Set(owner.line === request.line ? stringsIn(owner.valueText) : []);
  const patterns = KEY_INFO.required_permissions.valuePatterns ?? [];
  return patterns
    .filter((pattern) => !listed.has(pattern.label))
    .map((pattern, index) => ({
      label: pattern.label,
      kind: 'permission' as const,
      detail: pattern.summary,
      documentation: pattern.summary,
      insertSnippet: `"${pattern.snippet}"`,
      range: { line: request.line, column: token.column, length: token.length },
      filterText: token.length > 0 ? `"${pattern.label}"` : pattern.label,
      sortText: String(index),
    }));
}

/** The list item around the cursor inside `[...]`: a string being typed, or an empty spot. */
function listTokenAt(lineText: string, column: number, valueStart: number): { column: number; length: number; text: string } | undefined {
  const before = lineText.slice(valueStart, column);
  if (commentStart(before) >= 0) {
    return undefined;
  }
  const openQuote = openStringStart(before);
  if (openQuote >= 0) {
    const start = valueStart + openQuote;
    const close = lineText.indexOf('"', column);
    const end = close >= 0 ? close + 1 : column;
    return { column: start, length: end - start, text: lineText.slice(start, end) };
  }
  return { column, length: 0, text: '' };
}

/** Where the basic string that `text` ends inside of starts; -1 when `text` ends outside strings. */
function openStringStart(text: string): number {
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    if (start >= 0 && text[i] === '\\') {
      i++;
    } else if (text[i] === '"') {
      start = start >= 0 ? -1 : i;
    }
  }
  return start;
}

function stringsIn(valueText: string): string[] {
  return [...valueText.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'/g)].map((match) => match[1] ?? match[2]);
}

// -- helpers -----------------------------------------------------------------------------------

/** The run of `wordChar` characters around `column` on the line (may be empty). */
function wordAround(lineText: string, line: number, column: number, wordChar: RegExp): TextRange {
  let start = column;
  while (start > 0 && wordChar.test(lineText[start - 1])) {
    start--;
  }
  let end = column;
  while (end < lineText.length && wordChar.test(lineText[end])) {
    end++;
  }
  return { line, column: start, length: end - start };
}

/** Makes text literal inside a snippet (`$`, `}` and `\` are snippet syntax). */
export function escapeSnippet(text: string): string {
  return text.replace(/[$}\\]/g, (char) => `\\${char}`);
}

/** Makes text literal inside a TOML basic string. */
export function escapeBasic(text: string): string {
  return text.replace(/["\\]/g, (char) => `\\${char}`);
}
