/**
 * Quick fixes for manifest problems, as data: a title and the text edits that repair the problem.
 * The VS Code adapter (src/extension/manifestEditing) turns them into CodeActions. Edits are
 * computed from the text as it is now, with the forgiving line scanner, so they work on a manifest
 * that does not parse yet.
 */
import { escapeBasic, KeyLine, scanKeyLines, splitLines } from './completion';
import { isManifestKey, KEY_INFO } from './keys';
import { suggestName, suggestNamespace, suggestVersion } from './names';
import { MANIFEST_KEYS, ManifestKey, Problem } from './types';

/** Zero-based; column in UTF-16 code units. */
export interface TextPosition {
  line: number;
  column: number;
}

export interface TextEditData {
  start: TextPosition;
  end: TextPosition;
  newText: string;
}

export interface QuickFix {
  title: string;
  edits: TextEditData[];
  /** The one obvious fix, which the editor applies with "Auto Fix". */
  isPreferred: boolean;
}

export interface QuickFixRequest {
  text: string;
  problem: Problem;
  /** `.wasm` files of the workspace, relative to the manifest's folder, `/`-separated. */
  wasmFiles?: readonly string[];
  /** Name of the manifest's folder: the natural job name when `name` is missing. */
  folderName?: string;
}

const MAX_BINARY_FIXES = 5;

/** The fixes for one problem; empty when there is nothing safe to offer. */
export function quickFixes(request: QuickFixRequest): QuickFix[] {
  const keyLines = scanKeyLines(request.text);
  const { problem } = request;
  const owner = keyLines.find((keyLine) => keyLine.key === problem.key);
  switch (problem.code) {
    case 'missing-key':
      return problem.key !== undefined && isManifestKey(problem.key) ? [addKeyFix(request, keyLines, problem.key)] : [];
    case 'unknown-key':
      return owner ? unknownKeyFixes(request.text, keyLines, owner) : [];
    case 'invalid-name':
      return owner ? replaceStringFix(owner, 'name', suggestName) : [];
    case 'invalid-namespace':
      return owner ? replaceStringFix(owner, 'namespace', suggestNamespace) : [];
    case 'invalid-version':
      return owner ? replaceStringFix(owner, 'version', suggestVersion) : [];
    case 'binary-not-found':
    case 'binary-not-wasm':
    case 'invalid-binary':
      return owner ? binaryFixes(owner, request.wasmFiles ?? []) : [];
    case 'wrong-type':
      return owner && problem.key !== undefined && isManifestKey(problem.key) ? wrongTypeFixes(owner, problem.key) : [];
    default:
      return [];
  }
}

// -- missing key -------------------------------------------------------------------------------

function addKeyFix(request: QuickFixRequest, keyLines: readonly KeyLine[], key: ManifestKey): QuickFix {
  const line = `${key} = ${defaultValue(key, request)}`;
  return {
    title: `Add the missing key '${key}'`,
    edits: [insertKeyLine(request.text, keyLines, key, line)],
    isPreferred: true,
  };
}

/** A value that passes the rules and that the user will most likely keep or adjust. */
export function defaultValue(key: ManifestKey, request: Pick<QuickFixRequest, 'wasmFiles' | 'folderName'>): string {
  const jobName = suggestName(request.folderName ?? 'job');
  switch (key) {
    case 'name':
      return quote(jobName);
    case 'namespace':
      return quote('com.example');
    case 'version':
      return quote('0.1.0');
    case 'binary':
      return quote(request.wasmFiles?.[0] ?? `${jobName}.wasm`);
    case 'description':
      return quote(`Describe what ${jobName} does with its input.`);
    case 'required_extensions':
    case 'required_permissions':
    case 'args':
      return '[]';
    case 'env':
      return '{}';
    case 'files':
      return quote('files');
  }
}

/** Inserts after the last present key that comes before `key` in a manifest's usual order. */
function insertKeyLine(text: string, keyLines: readonly KeyLine[], key: ManifestKey, line: string): TextEditData {
  const order = MANIFEST_KEYS.indexOf(key);
  const before = keyLines.filter((keyLine) => isManifestKey(keyLine.key) && MANIFEST_KEYS.indexOf(keyLine.key) < order);
  const anchor = before.length > 0 ? before[before.length - 1] : undefined;
  if (anchor === undefined) {
    const first = keyLines[0];
    const at = { line: first ? first.line : 0, column: 0 };
    return { start: at, end: at, newText: `${line}\n` };
  }
  const end = { line: anchor.endLine, column: splitLines(text)[anchor.endLine].length };
  return { start: end, end, newText: `\n${line}` };
}

// -- unknown key -------------------------------------------------------------------------------

function unknownKeyFixes(text: string, keyLines: readonly KeyLine[], owner: KeyLine): QuickFix[] {
  const present = new Set(keyLines.map((keyLine) => keyLine.key));
  const nearest = nearestKey(owner.key, MANIFEST_KEYS.filter((key) => !present.has(key)));
  const fixes: QuickFix[] = [];
  if (nearest !== undefined) {
    fixes.push({
      title: `Change '${owner.key}' to '${nearest}'`,
      edits: [replace(owner.keyRange.line, owner.keyRange.column, owner.keyRange.length, nearest)],
      isPreferred: true,
    });
  }
  fixes.push({ title: `Remove the unknown key '${owner.key}'`, edits: [deleteLines(text, owner)], isPreferred: false });
  return fixes;
}

/** The candidate closest to `word` by edit distance, if close enough to be a typo of it. */
export function nearestKey(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase().replace(/-/g, '_');
  let best: { key: string; distance: number } | undefined;
  for (const key of candidates) {
    const distance = editDistance(lower, key);
    if (best === undefined || distance < best.distance) {
      best = { key, distance };
    }
  }
  const tolerance = Math.max(2, Math.floor(word.length / 3));
  return best !== undefined && best.distance <= tolerance ? best.key : undefined;
}

/** Damerau-Levenshtein distance (optimal string alignment): a swap of neighbours costs 1. */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) {
    rows[0][j] = j;
  }
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
      }
    }
  }
  return rows[a.length][b.length];
}

function deleteLines(text: string, owner: KeyLine): TextEditData {
  const lines = splitLines(text);
  const isLast = owner.endLine + 1 >= lines.length;
  return isLast && owner.line > 0
    ? { start: { line: owner.line - 1, column: lines[owner.line - 1].length }, end: { line: owner.endLine, column: lines[owner.endLine].length }, newText: '' }
    : { start: { line: owner.line, column: 0 }, end: { line: owner.endLine + 1, column: 0 }, newText: '' };
}

// -- values ------------------------------------------------------------------------------------

function replaceStringFix(owner: KeyLine, key: ManifestKey, suggest: (value: string) => string): QuickFix[] {
  if (owner.stringValue === undefined) {
    return [];
  }
  const suggestion = suggest(owner.stringValue);
  if (suggestion === owner.stringValue) {
    return [];
  }
  return [
    {
      title: `Change ${key} to '${suggestion}'`,
      edits: [replace(owner.valueRange.line, owner.valueRange.column, owner.valueRange.length, quote(suggestion))],
      isPreferred: true,
    },
  ];
}

/**
 * The `.wasm` files that may be meant, nearest first: one next to the manifest before one in a
 * subfolder, and both before another job's (`../other/other.wasm`); among equals, the name closest
 * to what is written.
 */
function binaryFixes(owner: KeyLine, wasmFiles: readonly string[]): QuickFix[] {
  const current = owner.stringValue ?? '';
  const ranked = [...wasmFiles]
    .map((file) => ({ file, farness: farness(file), distance: editDistance(baseName(current), baseName(file)) * 100 + editDistance(current, file) }))
    .sort((a, b) => a.farness - b.farness || a.distance - b.distance || a.file.localeCompare(b.file))
    .slice(0, MAX_BINARY_FIXES);
  return ranked.map(({ file }, index) => ({
    title: `Use '${file}' as the binary`,
    edits: [replace(owner.valueRange.line, owner.valueRange.column, owner.valueRange.length, quote(file))],
    isPreferred: index === 0,
  }));
}

/** 0 next to the manifest; each folder down adds 1, each `..` up adds 100 (another job's folder). */
function farness(file: string): number {
  const segments = file.split('/');
  const up = segments.filter((segment) => segment === '..').length;
  return up * 100 + (segments.length - 1 - up);
}

// -- wrong type --------------------------------------------------------------------------------

/** The fix each wrong-type message promises: brackets around a lone string, quotes around a number. */
function wrongTypeFixes(owner: KeyLine, key: ManifestKey): QuickFix[] {
  const { line, column, length } = owner.valueRange;
  const expected = KEY_INFO[key].type;
  const written = owner.valueText.trim();
  if (expected === 'string[]' && owner.stringValue !== undefined) {
    return [
      { title: `Put it in brackets: ${key} = [${quote(owner.stringValue)}]`, edits: [replace(line, column, length, `[${quote(owner.stringValue)}]`)], isPreferred: true },
      { title: `Make it an empty list: ${key} = []`, edits: [replace(line, column, length, '[]')], isPreferred: false },
    ];
  }
  if (expected === 'string' && owner.stringValue === undefined && /^[^"'[{]/.test(written) && written !== '') {
    return [{ title: `Quote it: ${key} = ${quote(written)}`, edits: [replace(line, column, length, quote(written))], isPreferred: true }];
  }
  return [];
}

// -- helpers -----------------------------------------------------------------------------------

function replace(line: number, column: number, length: number, newText: string): TextEditData {
  return { start: { line, column }, end: { line, column: column + length }, newText };
}

function quote(value: string): string {
  return `"${escapeBasic(value)}"`;
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
