/**
 * Checks the file a manifest's `binary` points at: that it exists, is a WebAssembly module, is a
 * WASI command, and imports only what the manifest declares. Node fs only (no vscode), so the CLI
 * and the agent can use it too.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { parse } from 'smol-toml';
import { componentCommandProblems, inspectComponent } from '../wasm/component';
import { WASI_MODULE, WasmFormatError, WasmInfo, inspectWasm } from '../wasm/inspect';
import { wasmLayer } from '../wasm/layer';
import { locateKeys } from './locate';
import { ManifestCheck, Problem, ProblemCode, TextRange } from './types';

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

interface BinaryTarget {
  /** As written in the manifest. */
  written: string;
  resolved: string;
  range: TextRange;
  declaredExtensions: readonly string[];
}

/**
 * Problems of the manifest's binary, all at the range of the `binary` value. Returns none when the
 * text's own problems already make the binary unknowable (syntax error, missing or wrong-typed key).
 */
export async function checkBinary(manifestPath: string, text: string, check: ManifestCheck): Promise<Problem[]> {
  const target = findTarget(manifestPath, text, check);
  if (!target) return [];
  const problems: Problem[] = [];
  const report = (code: ProblemCode, severity: Problem['severity'], message: string): void => {
    problems.push({ code, severity, message, range: target.range, key: 'binary' });
  };
  const hasWasmExtension = /\.wasm$/i.test(target.written);
  if (!hasWasmExtension) {
    report('binary-not-wasm', 'warning', `binary '${target.written}' does not end in .wasm; point it at the WebAssembly module the build produces.`);
  }
  const bytes = await readBinary(target, report);
  if (!bytes) return problems;
  if (!WASM_MAGIC.every((byte, index) => bytes[index] === byte)) {
    if (!hasWasmExtension) problems.pop(); // one problem is enough: the content says more than the name
    report('binary-not-wasm', 'error', `${target.resolved} is not a WebAssembly module (it does not start with "\\0asm"); point binary at the .wasm file the build produces.`);
    return problems;
  }
  if (wasmLayer(bytes) === 'component') {
    checkComponent(bytes, target, report);
    return problems;
  }
  const info = inspect(bytes, target, report);
  if (info) {
    checkWasiCommand(info, report);
    checkExtensions(info, target, report);
  }
  return problems;
}

type Report = (code: ProblemCode, severity: Problem['severity'], message: string) => void;

function findTarget(manifestPath: string, text: string, check: ManifestCheck): BinaryTarget | undefined {
  const binaryKnowable = !check.problems.some(
    (problem) =>
      problem.code === 'toml-syntax' ||
      (problem.key === 'binary' && problem.severity === 'error'),
  );
  if (!binaryKnowable) return undefined;
  const table = check.manifest ?? parseQuietly(text);
  const written = table?.binary;
  const range = locateKeys(text).get('binary')?.valueRange;
  if (typeof written !== 'string' || !range) return undefined;
  const extensions = Array.isArray(table?.required_extensions) ? table.required_extensions : [];
  return {
    written,
    resolved: path.resolve(path.dirname(path.resolve(manifestPath)), written),
    range,
    declaredExtensions: extensions.filter((item): item is string => typeof item === 'string'),
  };
}

/** The manifest's keys when other rules failed but the TOML itself is fine. */
function parseQuietly(text: string): Record<string, unknown> | undefined {
  try {
    return parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

async function readBinary(target: BinaryTarget, report: Report): Promise<Uint8Array | undefined> {
  try {
    return await fs.readFile(target.resolved);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const relativeNote = "(binary is relative to the manifest's folder)";
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      report('binary-not-found', 'error', `binary file not found: ${target.resolved}. Build the job first, or fix the path ${relativeNote}.`);
    } else if (code === 'EISDIR') {
      report('binary-not-found', 'error', `binary is a folder, not a file: ${target.resolved}. Point it at the .wasm file ${relativeNote}.`);
    } else {
      report('binary-not-found', 'error', `binary cannot be read: ${target.resolved} (${(error as Error).message}).`);
    }
    return undefined;
  }
}

function inspect(bytes: Uint8Array, target: BinaryTarget, report: Report): WasmInfo | undefined {
  try {
    return inspectWasm(bytes);
  } catch (error) {
    if (!(error instanceof WasmFormatError)) throw error;
    report('binary-invalid-module', 'error', `${target.resolved} is not a valid WebAssembly module: ${error.message}`);
    return undefined;
  }
}

/** A WASI 0.2 component: a wasi:cli/command importing only what the agent hosts (its upload rules). */
function checkComponent(bytes: Uint8Array, target: BinaryTarget, report: Report): void {
  try {
    for (const problem of componentCommandProblems(inspectComponent(bytes))) report('binary-not-wasi-command', 'error', `The component: ${problem}`);
  } catch (error) {
    if (!(error instanceof WasmFormatError)) throw error;
    report('binary-invalid-module', 'error', `${target.resolved} is not a valid WebAssembly component: ${error.message}`);
  }
}

function checkWasiCommand(info: WasmInfo, report: Report): void {
  const start = info.exports.find((entry) => entry.name === '_start');
  if (start?.kind !== 'function') {
    report(
      'binary-not-wasi-command',
      'error',
      'The module does not export a "_start" function, so it is not a WASI command; build it as an executable (with a main function) for wasm32-wasip1.',
    );
  }
  const memory = info.exports.find((entry) => entry.name === 'memory');
  if (memory?.kind !== 'memory') {
    report(
      'binary-not-wasi-command',
      'error',
      'The module does not export its memory as "memory", which WASI needs to pass data to the job; build it for wasm32-wasip1.',
    );
  }
}

/** Every module the binary imports from, other than WASI, must be listed in required_extensions. */
function checkExtensions(info: WasmInfo, target: BinaryTarget, report: Report): void {
  const importsByModule = new Map<string, string[]>();
  for (const entry of info.imports) {
    if (entry.module === WASI_MODULE || target.declaredExtensions.includes(entry.module)) continue;
    const names = importsByModule.get(entry.module) ?? [];
    names.push(entry.name);
    importsByModule.set(entry.module, names);
  }
  for (const [module, names] of importsByModule) {
    const shown = names.slice(0, 3).join(', ') + (names.length > 3 ? `, and ${names.length - 3} more` : '');
    report(
      'undeclared-extension',
      'error',
      `The module imports from '${module}' (${shown}), which required_extensions does not list; add "${module}" to required_extensions.`,
    );
  }
}
