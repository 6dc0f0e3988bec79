/**
 * checkManifest: parses a manifest and reports every problem at the exact range of the key or
 * value it is about. Pure and synchronous (no file access: the binary is checked by binary.ts).
 */
import { parse, TomlError } from 'smol-toml';
import { KEY_INFO, KeyInfo, isManifestKey, typeName } from './keys';
import { KeyLocation, KeyLocations, ValueLocation, locateKeys } from './locate';
import { checkName, checkNamespace, checkVersion } from './names';
import { MANIFEST_KEYS, Manifest, ManifestCheck, ManifestKey, Problem, ProblemCode, TextRange } from './types';

type Table = Record<string, unknown>;

/** Parses `text` and applies every manifest rule. `manifest` is set when no problem is an error. */
export function checkManifest(text: string): ManifestCheck {
  let table: Table;
  try {
    table = parse(text) as Table;
  } catch (error) {
    return { problems: [syntaxProblem(text, error)] };
  }
  const context = new RuleContext(text, locateKeys(text));
  checkKnownKeys(context, table);
  checkUnknownKeys(context, table);
  const problems = context.sortedProblems();
  const hasError = problems.some((problem) => problem.severity === 'error');
  return hasError ? { problems } : { problems, manifest: toManifest(table) };
}

class RuleContext {
  private readonly problems: Problem[] = [];

  constructor(
    readonly text: string,
    readonly locations: KeyLocations,
  ) {}

  report(code: ProblemCode, severity: Problem['severity'], key: string, range: TextRange, message: string): void {
    this.problems.push({ code, severity, key, range, message });
  }

  /** The range of the key's value, or of the first line when the locator did not find it. */
  valueRange(key: string): TextRange {
    return this.locations.get(key)?.valueRange ?? this.documentStart();
  }

  keyRange(key: string): TextRange {
    return this.locations.get(key)?.keyRange ?? this.documentStart();
  }

  location(key: string): KeyLocation | undefined {
    return this.locations.get(key);
  }

  /**
   * Where an editor shows problems about what the document lacks: its first line that has text,
   * whole, because a zero-length range on an empty line is hard to see.
   */
  documentStart(): TextRange {
    const lines = this.text.split('\n');
    const line = Math.max(0, lines.findIndex((lineText) => lineText.trim() !== ''));
    const lineText = (lines[line] ?? '').replace(/\r$/, '');
    return { line, column: 0, length: lineText.length };
  }

  sortedProblems(): Problem[] {
    return [...this.problems].sort((a, b) => a.range.line - b.range.line || a.range.column - b.range.column);
  }
}

function checkKnownKeys(context: RuleContext, table: Table): void {
  for (const key of MANIFEST_KEYS) {
    const info = KEY_INFO[key];
    if (!Object.prototype.hasOwnProperty.call(table, key)) {
      if (info.required) reportMissing(context, info);
      continue;
    }
    const value = table[key];
    if (info.type === 'string') {
      if (typeof value === 'string') checkStringValue(context, key, value);
      else reportWrongType(context, info, value);
    } else if (info.type === 'table') {
      if (isTable(value)) checkEnvTable(context, key, value);
      else reportWrongType(context, info, value);
    } else if (Array.isArray(value)) {
      checkListItems(context, key, value);
    } else {
      reportWrongType(context, info, value);
    }
  }
}

function reportMissing(context: RuleContext, info: KeyInfo): void {
  context.report(
    'missing-key',
    'error',
    info.key,
    context.documentStart(),
    `The required key '${info.key}' is missing: ${info.summary} Add a line such as: ${info.example}`,
  );
}

function reportWrongType(context: RuleContext, info: KeyInfo, value: unknown): void {
  const location = context.location(info.key);
  // `[name]` or `name.first = ...` make a table out of the key itself: underline the key there.
  const definedAsTable = location !== undefined && (location.fromHeader || location.path.length > 1);
  const range = definedAsTable && info.type !== 'table' ? location.keyRange : context.valueRange(info.key);
  const expected = `${info.type === 'string[]' ? 'an' : 'a'} ${typeName(info.type)}`;
  const scalar = typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint';
  const hint =
    info.type === 'string[]' && typeof value === 'string'
      ? ` Put it in brackets: ${info.key} = [${JSON.stringify(value)}]`
      : info.type === 'string' && scalar
        ? ` Quote it: ${info.key} = "${String(value)}"`
        : '';
  context.report(
    'wrong-type',
    'error',
    info.key,
    range,
    `'${info.key}' must be ${expected}, e.g. ${info.example}; it is ${tomlTypeName(value)}.${hint}`,
  );
}

const VALUE_RULES: Partial<Record<ManifestKey, { code: ProblemCode; check: (value: string) => string | undefined }>> = {
  name: { code: 'invalid-name', check: checkName },
  namespace: { code: 'invalid-namespace', check: checkNamespace },
  version: { code: 'invalid-version', check: checkVersion },
};

function checkStringValue(context: RuleContext, key: ManifestKey, value: string): void {
  const rule = VALUE_RULES[key];
  const message = rule?.check(value);
  if (rule && message !== undefined) {
    context.report(rule.code, 'error', key, context.valueRange(key), message);
  } else if (key === 'description' && value.trim() === '') {
    context.report(
      'empty-description',
      'warning',
      key,
      context.valueRange(key),
      'description is empty; say in one sentence what the job does, so people can find it in job lists.',
    );
  } else if (key === 'binary') {
    checkBinaryPath(context, value);
  } else if (key === 'files') {
    checkFilesPath(context, value);
  }
}

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** `[env]`: names without '=' or NUL, string values (a job's environment is `NAME=value` strings). */
function checkEnvTable(context: RuleContext, key: ManifestKey, table: Table): void {
  for (const [name, value] of Object.entries(table)) {
    const problem =
      name === '' || name.includes('=') || name.includes('\0')
        ? `The environment variable name '${name}' is not usable: a name is not empty and has no '=' or NUL.`
        : typeof value !== 'string'
          ? `The environment variable ${name} must be a string; it is ${tomlTypeName(value)}. Quote it: ${name} = "${String(value)}"`
          : value.includes('\0')
            ? `The environment variable ${name} contains a NUL character, which no program can read.`
            : undefined;
    if (problem) context.report('invalid-env', 'error', key, context.valueRange(key), problem);
  }
}

/** The folder path itself; whether it exists, is a folder and fits is checked with the files (filesCheck.ts). */
function checkFilesPath(context: RuleContext, path: string): void {
  const range = context.valueRange('files');
  const relativeHint = "give the folder relative to the manifest's folder, e.g. files = \"data\"";
  if (path.trim() === '') context.report('invalid-files', 'error', 'files', range, `files is empty; ${relativeHint}.`);
  else if (isAbsolutePath(path)) {
    context.report('invalid-files', 'warning', 'files', range, `files is an absolute path, so this manifest only works on this machine; ${relativeHint}.`);
  }
}

/** The path itself; whether the file exists and is a WASI command is binary.ts's business. */
function checkBinaryPath(context: RuleContext, path: string): void {
  const range = context.valueRange('binary');
  const relativeHint = "give the path of the .wasm file relative to the manifest's folder";
  if (path.trim() === '') {
    context.report('invalid-binary', 'error', 'binary', range, `binary is empty; ${relativeHint}, e.g. binary = "job.wasm".`);
  } else if (/[\u0000-\u001f]/.test(path)) {
    context.report('invalid-binary', 'error', 'binary', range, `binary contains a control character; ${relativeHint}.`);
  } else if (isAbsolutePath(path)) {
    context.report(
      'invalid-binary',
      'warning',
      'binary',
      range,
      `binary is an absolute path, so this manifest only works on this machine; ${relativeHint}.`,
    );
  } else if (path.includes('\\')) {
    context.report(
      'invalid-binary',
      'warning',
      'binary',
      range,
      "binary uses '\\' between folders, which only Windows understands; use '/' instead.",
    );
  }
}

function isAbsolutePath(path: string): boolean {
  return path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:[\\/]/.test(path);
}

function checkListItems(context: RuleContext, key: ManifestKey, items: unknown[]): void {
  const itemLocations = context.location(key)?.value.items ?? [];
  items.forEach((item, index) => {
    if (typeof item === 'string') return;
    const itemLocation: ValueLocation | undefined = itemLocations[index];
    const quoteHint =
      typeof item === 'number' || typeof item === 'boolean' ? ` Quote it: "${itemLocation?.text ?? String(item)}"` : '';
    context.report(
      'invalid-list-item',
      'error',
      key,
      itemLocation?.range ?? context.valueRange(key),
      `Each item of '${key}' must be a string; item ${index + 1} is ${tomlTypeName(item)}.${quoteHint}`,
    );
  });
}

/**
 * Unknown keys are warned about one by one up to a cap, then in one summary: a hostile or
 * generated manifest of a million keys must cost the agent (and the editor) little.
 */
export const MAX_UNKNOWN_KEY_WARNINGS = 100;
/** Keys are shown in messages up to this length. */
const SHOWN_KEY_LENGTH = 60;

function checkUnknownKeys(context: RuleContext, table: Table): void {
  const unknown = Object.keys(table).filter((key) => !isManifestKey(key));
  for (const key of unknown.slice(0, MAX_UNKNOWN_KEY_WARNINGS)) {
    const guess = closestKnownKey(key);
    const didYouMean = guess ? ` Did you mean '${guess}'?` : '';
    context.report(
      'unknown-key',
      'warning',
      key,
      context.keyRange(key),
      `Unknown key '${shownKey(key)}': the agent keeps it but does not use it.${didYouMean}`,
    );
  }
  const more = unknown.length - MAX_UNKNOWN_KEY_WARNINGS;
  if (more > 0) {
    const first = unknown[MAX_UNKNOWN_KEY_WARNINGS];
    context.report(
      'unknown-key',
      'warning',
      first,
      context.keyRange(first),
      `${more} more unknown keys from '${shownKey(first)}' on: the agent keeps them but does not use them.`,
    );
  }
}

function shownKey(key: string): string {
  return key.length <= SHOWN_KEY_LENGTH ? key : `${key.slice(0, SHOWN_KEY_LENGTH)}…`;
}

const LONGEST_KNOWN_KEY = Math.max(...MANIFEST_KEYS.map((key) => key.length));
const MAX_EDITS = 2;

/** The known key a typo most likely meant: at most two edits away, or the same ignoring case and `-`. */
function closestKnownKey(key: string): ManifestKey | undefined {
  // Further than two edits from every known key by its length alone: no table to fill.
  if (key.length > LONGEST_KNOWN_KEY + MAX_EDITS) return undefined;
  const folded = key.toLowerCase().replace(/-/g, '_');
  let best: ManifestKey | undefined;
  let bestDistance = MAX_EDITS + 1;
  for (const known of MANIFEST_KEYS) {
    const distance = folded === known ? 0 : editDistance(folded, known);
    if (distance < bestDistance) {
      best = known;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance; keys are short, so the quadratic table costs nothing. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}

function tomlTypeName(value: unknown): string {
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number' || typeof value === 'bigint') return 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  if (value instanceof Date) return 'a date';
  if (Array.isArray(value)) return 'an array';
  return 'a table';
}

function toManifest(table: Table): Manifest {
  const unknown: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(table)) {
    if (!isManifestKey(key)) unknown[key] = value;
  }
  return {
    name: table.name as string,
    namespace: table.namespace as string,
    version: table.version as string,
    binary: table.binary as string,
    description: table.description as string,
    required_extensions: (table.required_extensions as string[] | undefined) ?? [],
    required_permissions: (table.required_permissions as string[] | undefined) ?? [],
    args: (table.args as string[] | undefined) ?? [],
    env: { ...(table.env as Record<string, string> | undefined) },
    ...(typeof table.files === 'string' ? { files: table.files } : {}),
    unknown,
  };
}

/** One problem for a TOML syntax error, at the position smol-toml reports (made zero-based). */
function syntaxProblem(text: string, error: unknown): Problem {
  if (!(error instanceof TomlError)) {
    const reason = error instanceof Error ? error.message : String(error);
    return { code: 'toml-syntax', severity: 'error', message: `Invalid TOML: ${reason}`, range: { line: 0, column: 0, length: 0 } };
  }
  const line = error.line - 1;
  const column = error.column - 1;
  const lineText = text.split('\n')[line]?.replace(/\r$/, '') ?? '';
  const reason = error.message.replace(/^Invalid TOML document: /, '').split('\n')[0];
  const where = `line ${error.line}, column ${error.column}`;
  if (reason.includes('redefine')) {
    const key = keyTokenAt(lineText, column);
    return {
      code: 'toml-syntax',
      severity: 'error',
      message: `'${key.text}' is defined twice (${where}); remove or rename one of them.`,
      range: { line, column: key.column, length: key.text.length },
    };
  }
  if (reason.startsWith('control characters') && column >= lineText.length) {
    // smol-toml reports an unclosed string as a control character (the line break) inside it.
    const quote = lineText.slice(lineText.indexOf('=') + 1).search(/["']/);
    const start = quote < 0 ? column : lineText.indexOf('=') + 1 + quote;
    return {
      code: 'toml-syntax',
      severity: 'error',
      message: `Invalid TOML at ${where}: this string is not closed; add its closing quote.`,
      range: { line, column: start, length: lineText.length - start },
    };
  }
  return {
    code: 'toml-syntax',
    severity: 'error',
    message: `Invalid TOML at ${where}: ${reason}. Fix the syntax there.`,
    range: { line, column, length: tokenLengthAt(lineText, column) },
  };
}

/** The key written at `column` (skipping `[`), for the duplicate-key message. */
function keyTokenAt(lineText: string, column: number): { text: string; column: number } {
  const start = lineText.slice(column).search(/[^\s[]/);
  const keyStart = start < 0 ? column : column + start;
  const match = /^("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)/.exec(lineText.slice(keyStart));
  return { text: match ? match[1] : lineText.slice(keyStart).trim(), column: keyStart };
}

/** Underlines the token at the error, or one character; zero at the end of a line. */
function tokenLengthAt(lineText: string, column: number): number {
  const rest = lineText.slice(column);
  const token = /^[^\s,\]}]+/.exec(rest);
  return token ? token[0].length : Math.min(rest.length, 1);
}
