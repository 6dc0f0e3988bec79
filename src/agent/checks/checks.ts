/**
 * The checks of uploaded bodies, as pure functions: what the check worker runs (checkWorker.ts),
 * and what runs in place when no worker can start. Each answer is small (no parsed manifest
 * crosses threads: a million unknown keys would cost the main thread their copy).
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';

import { checkManifest, fullyQualifiedName } from '../../manifest';
import type { Problem } from '../../manifest/types';
import { inspectWasm } from '../../wasm/inspect';
import { encodeUleb } from '../../wasm/memoryCap';

export type ManifestVerdict = { ok: true; name: string; version: string } | { ok: false; message: string };
export type WasmVerdict = { ok: true } | { ok: false; message: string };

/** What a run takes from its version's manifest; undefined when the stored manifest does not check. */
export type RunDefaultsVerdict = { args: string[]; env: Record<string, string>; requiredExtensions: string[] } | undefined;

export type CheckVerdict = ManifestVerdict | WasmVerdict | RunDefaultsVerdict;
/** Bytes in the message, or (an upload the store staged) a file the checking thread reads itself. */
export type CheckRequest =
  | { id: number; kind: 'manifest' | 'run-defaults'; bytes: Uint8Array }
  | { id: number; kind: 'wasm-file'; file: string };
export type CheckKind = CheckRequest['kind'];
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

/**
 * A staged upload, read where this runs (the check worker: the main thread never holds it). The
 * payloads of its custom sections are not read: they are most of a debug build and validation
 * ignores them. When that framing does not hold, the whole file is validated, for the message.
 */
export function wasmFileVerdict(file: string): WasmVerdict {
  try {
    const framed = readWithoutCustomPayloads(file);
    if (framed && WebAssembly.validate(framed)) return { ok: true };
    return wasmVerdict(readFileSync(file));
  } catch (error) {
    return { ok: false, message: `the agent could not read back the upload it was storing (${(error as NodeJS.ErrnoException).code ?? String(error)}); store it again` };
  }
}

const WASM_HEADER_BYTES = 8;
const CUSTOM_SECTION_ID = 0;
/** A u32 in LEB128 takes 5 bytes at most. */
const MAX_ULEB_BYTES = 5;

/**
 * The module in `file` with each custom section's payload left out and its name kept (a name that
 * is not UTF-8 is still refused). The other sections are read as they are. Valid this way means
 * valid whole: the format gives custom payloads no meaning. Undefined when the sections do not
 * frame the file exactly.
 */
function readWithoutCustomPayloads(file: string): Buffer | undefined {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const read = (offset: number, length: number): Buffer => {
      const buffer = Buffer.allocUnsafe(Math.max(0, Math.min(length, size - offset)));
      return buffer.subarray(0, readSync(fd, buffer, 0, buffer.byteLength, offset));
    };
    const parts = [read(0, WASM_HEADER_BYTES)];
    for (let offset = WASM_HEADER_BYTES; offset < size; ) {
      const head = read(offset, 1 + MAX_ULEB_BYTES);
      const length = readUleb(head, 1);
      if (!length) return undefined;
      const contentStart = offset + 1 + length.bytes;
      const end = contentStart + length.value;
      if (end > size) return undefined;
      if (head[0] === CUSTOM_SECTION_ID) {
        const nameLength = readUleb(read(contentStart, MAX_ULEB_BYTES), 0);
        const nameBytes = nameLength && nameLength.bytes + nameLength.value;
        if (!nameBytes || nameBytes > length.value) return undefined;
        parts.push(Buffer.from([CUSTOM_SECTION_ID, ...encodeUleb(nameBytes)]), read(contentStart, nameBytes));
      } else {
        parts.push(read(offset, end - offset));
      }
      offset = end;
    }
    return Buffer.concat(parts);
  } finally {
    closeSync(fd);
  }
}

function readUleb(bytes: Uint8Array, at: number): { value: number; bytes: number } | undefined {
  let value = 0;
  for (let i = 0; i < MAX_ULEB_BYTES && at + i < bytes.byteLength; i++) {
    const byte = bytes[at + i]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if (byte < 0x80) return { value, bytes: i + 1 };
  }
  return undefined;
}

export function verdictOf(request: CheckRequest): CheckVerdict {
  if (request.kind === 'wasm-file') return wasmFileVerdict(request.file);
  if (request.kind === 'manifest') return manifestVerdict(request.bytes);
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
