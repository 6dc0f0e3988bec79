/**
 * The checks of uploaded bodies, as pure functions: what the check worker runs (checkWorker.ts),
 * and what runs in place when no worker can start. Each answer is small (no parsed manifest
 * crosses threads: a million unknown keys would cost the main thread their copy).
 */
import { checkManifest, fullyQualifiedName } from '../../manifest';
import type { Problem } from '../../manifest/types';
import { inspectWasm } from '../../wasm/inspect';

export type ManifestVerdict = { ok: true; name: string; version: string } | { ok: false; message: string };
export type WasmVerdict = { ok: true } | { ok: false; message: string };

/** What a run takes from its version's manifest; undefined when the stored manifest does not check. */
export type RunDefaultsVerdict = { args: string[]; env: Record<string, string>; requiredExtensions: string[] } | undefined;

export type CheckKind = 'manifest' | 'wasm' | 'run-defaults';
export type CheckVerdict = ManifestVerdict | WasmVerdict | RunDefaultsVerdict;
export type CheckRequest = { id: number; kind: CheckKind; bytes: Uint8Array };
export type CheckAnswer = { id: number; verdict: CheckVerdict };

export function manifestVerdict(bytes: Uint8Array): ManifestVerdict {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, message: 'the manifest is not UTF-8 text; save manifest.toml as UTF-8 and store it again' };
  }
  const check = checkManifest(text);
  if (check.manifest) {
    return { ok: true, name: fullyQualifiedName(check.manifest.namespace, check.manifest.name), version: check.manifest.version };
  }
  const problem = check.problems.find((p) => p.severity === 'error');
  return { ok: false, message: problem ? describeProblem(problem) : 'the manifest is not valid; check it in an editor and store it again' };
}

export function wasmVerdict(bytes: Uint8Array): WasmVerdict {
  if (WebAssembly.validate(bytes)) return { ok: true };
  return { ok: false, message: `the body is not a valid WebAssembly module: ${whyInvalid(bytes)}` };
}

export function runDefaultsVerdict(bytes: Uint8Array): RunDefaultsVerdict {
  const manifest = checkManifest(new TextDecoder().decode(bytes)).manifest;
  return manifest && { args: manifest.args, env: manifest.env, requiredExtensions: manifest.required_extensions };
}

export function verdictOf(request: CheckRequest): CheckVerdict {
  if (request.kind === 'manifest') return manifestVerdict(request.bytes);
  if (request.kind === 'wasm') return wasmVerdict(request.bytes);
  return runDefaultsVerdict(request.bytes);
}

/** Line and column counted from 1, as people and editors' status bars do. */
function describeProblem(problem: Problem): string {
  return `manifest line ${problem.range.line + 1}, column ${problem.range.column + 1}: ${problem.message}`;
}

/** The module reader's explanation when it has one (bad magic, truncated section, …). */
function whyInvalid(bytes: Uint8Array): string {
  try {
    inspectWasm(bytes);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return 'it is well-formed but fails validation (a compiler bug or a hand-edited file); upload the .wasm your build produced';
}
