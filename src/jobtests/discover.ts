/** Finding manifests and their cases on disk, and reading a case's files. */
import { readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { parse } from 'smol-toml';
import { checkManifest, fullyQualifiedName } from '../manifest';
import { CASE_EXTENSIONS, TESTS_CONFIG_FILE, type CaseFileKind, type JobTests, type LoadedCase, type TestCase, type TestsConfig } from './types';

export const MANIFEST_FILE = 'manifest.toml';
export const TESTS_DIR = 'tests';

/** Folders never searched for manifests: dependencies, build output, VCS and hidden folders. */
const SKIPPED_DIRS = new Set(['node_modules', 'target', 'out', 'dist']);

/** A case file's kind from its name (`hello.out` → out), or undefined for other files. */
export function caseFileOf(fileName: string): { name: string; kind: CaseFileKind } | undefined {
  if (fileName.startsWith('.')) return undefined;
  const dot = fileName.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const kind = fileName.slice(dot + 1) as CaseFileKind;
  return CASE_EXTENSIONS.includes(kind) ? { name: fileName.slice(0, dot), kind } : undefined;
}

/** Groups the file names of a tests/ folder into cases, sorted by name. */
export function casesOf(testsDir: string, fileNames: readonly string[]): TestCase[] {
  const byName = new Map<string, TestCase>();
  for (const fileName of fileNames) {
    const file = caseFileOf(fileName);
    if (!file) continue;
    let testCase = byName.get(file.name);
    if (!testCase) byName.set(file.name, (testCase = { name: file.name, files: {} }));
    testCase.files[file.kind] = path.join(testsDir, fileName);
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Every manifest that `targets` name: a file is taken as a manifest; a folder is searched for
 * manifest.toml files (skipping hidden folders, node_modules and build output). Sorted, no duplicates.
 * A target that does not exist rejects with ENOENT.
 */
export async function findManifests(targets: readonly string[]): Promise<string[]> {
  const found = new Set<string>();
  for (const target of targets) {
    const info = await stat(target);
    if (info.isDirectory()) for (const manifest of await manifestsUnder(target)) found.add(manifest);
    else found.add(path.resolve(target));
  }
  return [...found].sort();
}

async function manifestsUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const manifests: string[] = [];
  for (const entry of entries) {
    const full = path.resolve(dir, entry.name);
    if (entry.isDirectory()) {
      if (!entry.name.startsWith('.') && !SKIPPED_DIRS.has(entry.name)) manifests.push(...(await manifestsUnder(full)));
    } else if (entry.name === MANIFEST_FILE) {
      manifests.push(full);
    }
  }
  return manifests;
}

/** The manifest's cases (none when it has no tests/ folder), and what it needs to run them. */
export async function discoverJobTests(manifestPath: string): Promise<JobTests> {
  const testsDir = path.join(path.dirname(manifestPath), TESTS_DIR);
  const job: JobTests = { manifestPath, testsDir, config: { ignoreTrailingNewline: false }, cases: [] };
  const fileNames = await readdir(testsDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return [] as string[];
    throw error;
  });
  job.cases = casesOf(testsDir, fileNames);
  describeManifest(job, await readFile(manifestPath, 'utf8'));
  if (fileNames.includes(TESTS_CONFIG_FILE)) {
    const config = parseTestsConfig(await readFile(path.join(testsDir, TESTS_CONFIG_FILE), 'utf8'));
    if (typeof config === 'string') job.problem ??= `${path.join(TESTS_DIR, TESTS_CONFIG_FILE)}: ${config}`;
    else job.config = config;
  }
  return job;
}

function describeManifest(job: JobTests, text: string): void {
  const check = checkManifest(text.replace(/^\uFEFF/, ''));
  const manifest = check.manifest;
  if (!manifest) {
    const error = check.problems.find((problem) => problem.severity === 'error');
    job.problem = `the manifest is invalid: ${error?.message ?? 'fix its problems first'}`;
    return;
  }
  job.jobName = fullyQualifiedName(manifest.namespace, manifest.name);
  job.version = manifest.version;
  job.binaryPath = path.resolve(path.dirname(job.manifestPath), manifest.binary);
  job.defaults = { args: manifest.args, env: manifest.env };
  if (manifest.files !== undefined) job.filesDir = path.resolve(path.dirname(job.manifestPath), manifest.files);
}

/** The options of a tests/ folder, or a message saying what is wrong with the file. */
export function parseTestsConfig(text: string): TestsConfig | string {
  let table: Record<string, unknown>;
  try {
    table = parse(text) as Record<string, unknown>;
  } catch (error) {
    return `not valid TOML: ${(error instanceof Error ? error.message : String(error)).split('\n', 1)[0]}`;
  }
  const config: TestsConfig = { ignoreTrailingNewline: false };
  for (const [key, value] of Object.entries(table)) {
    if (key !== 'ignore_trailing_newline') return `unknown key '${key}' (the one option is ignore_trailing_newline = true)`;
    if (typeof value !== 'boolean') return 'ignore_trailing_newline must be true or false';
    config.ignoreTrailingNewline = value;
  }
  return config;
}

/** Reads a case's files; rejects with a message naming the file when one of them is malformed. */
export async function loadCase(testCase: TestCase): Promise<LoadedCase> {
  const { files } = testCase;
  const read = (file: string | undefined) => (file === undefined ? undefined : readFile(file).then((buffer) => new Uint8Array(buffer)));
  const text = (file: string | undefined) => (file === undefined ? undefined : readFile(file, 'utf8'));
  const [stdin, stdout, stderr, exitText, argsText, envText] = await Promise.all([
    read(files.in),
    read(files.out),
    read(files.err),
    text(files.exit),
    text(files.args),
    text(files.env),
  ]);
  return {
    stdin: stdin ?? new Uint8Array(),
    stdout,
    stderr,
    exitCode: exitText === undefined ? 0 : parseExitCode(exitText, `${testCase.name}.exit`),
    args: argsText === undefined ? undefined : parseArgsFile(argsText),
    env: envText === undefined ? undefined : parseEnvFile(envText, `${testCase.name}.env`),
  };
}

export class CaseFileError extends Error {}

/** One whole number, blank space around it allowed. */
export function parseExitCode(text: string, fileName: string): number {
  const trimmed = text.trim();
  if (!/^\d{1,10}$/.test(trimmed)) {
    throw new CaseFileError(`${fileName} must hold one whole number, the expected exit code (e.g. 0 or 2), not "${trimmed.slice(0, 40)}"`);
  }
  return Number(trimmed);
}

/** One argument per line (LF or CRLF); the last line break ends the last argument; an empty line is an empty argument. */
export function parseArgsFile(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** `KEY=VALUE` lines; blank lines and lines starting with # are skipped; the value is the rest of the line, as written. */
export function parseEnvFile(text: string, fileName: string): Record<string, string> {
  const env: Record<string, string> = {};
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const equals = line.indexOf('=');
    const key = equals > 0 ? line.slice(0, equals) : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new CaseFileError(`${fileName}:${index + 1}: expected KEY=VALUE (a name of letters, digits and _), not "${line.slice(0, 40)}"`);
    }
    env[key] = line.slice(equals + 1);
  });
  return env;
}
