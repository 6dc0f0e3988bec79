/**
 * The conformance jobs of test/fixtures/toolchains (one per toolchain) and what each should
 * answer: the expectations are what the program does under a real WASI runtime.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { WAT_FIXTURES } from '../helpers/wat';

export const TOOLCHAIN_FIXTURES = path.join(WAT_FIXTURES, '..', 'toolchains');

export type Toolchain = 'c' | 'cpp' | 'rust' | 'assemblyscript' | 'emscripten';
export const TOOLCHAINS: readonly Toolchain[] = ['c', 'cpp', 'rust', 'assemblyscript', 'emscripten'];

export function toolchainWasm(folder: string): Promise<Uint8Array> {
  return fs.readFile(path.join(TOOLCHAIN_FIXTURES, folder, 'job.wasm'));
}

/** What a toolchain's job offers: some runtimes' libraries lack files, randomness or stdio queries. */
export function supports(toolchain: Toolchain, command: 'file' | 'random' | 'stdio'): boolean {
  switch (command) {
    case 'file':
      return toolchain !== 'assemblyscript' && toolchain !== 'emscripten';
    case 'random':
      return toolchain !== 'emscripten';
    case 'stdio':
      return toolchain === 'c';
  }
}

/** How `panic` ends: a trap for C, C++ and Rust; AssemblyScript's abort and Emscripten's exit instead. */
export function panicEnd(toolchain: Toolchain): { kind: 'trapped'; stderr: RegExp } | { kind: 'exited'; exitCode: number; stderr: RegExp } {
  switch (toolchain) {
    case 'rust':
      return { kind: 'trapped', stderr: /^thread 'main' panicked at 'boom: the job panicked on purpose', job\.rs:\d+:\d+\n/ };
    case 'assemblyscript':
      return { kind: 'exited', exitCode: 255, stderr: /^abort: boom: the job panicked on purpose in job\.ts\(\d+:\d+\)\n$/ };
    case 'emscripten':
      return { kind: 'exited', exitCode: 1, stderr: /^aborting\n$/ };
    default:
      return { kind: 'trapped', stderr: /^aborting\n$/ };
  }
}

/** The 32-bit FNV-1a hash the jobs print, as 8 hex digits. */
export function fnv1a(bytes: Uint8Array): string {
  let hash = 0x811c9dc5;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}

/** `size` bytes that are not all alike (a fixed pseudo-random sequence), so a hash can tell them apart. */
export function pseudoRandomBytes(size: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(size);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

/** A command line followed by its payload, as the jobs read stdin. */
export function commandInput(command: string, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const head = new TextEncoder().encode(`${command}\n`);
  const input = new Uint8Array(head.length + payload.length);
  input.set(head);
  input.set(payload, head.length);
  return input;
}

/** What `big N` writes: `abc…z` repeated to N bytes. */
export function alphabetBytes(size: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => 97 + (i % 26));
}

export function linesText(count: number): string {
  return Array.from({ length: count }, (_, i) => `line ${i}\n`).join('');
}

/**
 * One input of each command the toolchain jobs know (and one they do not): for tests that compare
 * a rewritten module's behaviour with the original's on every path.
 */
export function everyCommandInput(): Uint8Array[] {
  return [
    commandInput('count', pseudoRandomBytes(50_000)),
    commandInput('cat', pseudoRandomBytes(3000, 3)),
    commandInput('lines 20'),
    commandInput('big 100000'),
    commandInput('stderr'),
    commandInput('exit 3'),
    commandInput('return 4'),
    commandInput('panic'),
    commandInput('env'),
    commandInput('file'),
    commandInput('nonsense'),
  ];
}
