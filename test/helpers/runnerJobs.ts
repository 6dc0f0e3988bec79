/** Jobs for runner tests, built from the WAT fixtures and the committed WASI programs. */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { JobRequest } from '../../src/agent/runner/types';
import { buildWat, WAT_FIXTURES } from './wat';

export const WASI_PROGRAMS = path.join(WAT_FIXTURES, '..', 'wasi-programs');

/** A job whose loadBytes is counted, so tests can see the compile cache at work. */
export interface CountedJob extends JobRequest {
  loads: { count: number };
}

export function jobOf(load: () => Promise<Uint8Array>, key: string, stdin: string | Uint8Array = '', signal?: AbortSignal): CountedJob {
  const loads = { count: 0 };
  return {
    key,
    stdin: typeof stdin === 'string' ? new TextEncoder().encode(stdin) : stdin,
    signal,
    loads,
    loadBytes: () => {
      loads.count++;
      return load();
    },
  };
}

/** A WAT fixture as a job, keyed by its name. */
export function watJob(name: string, stdin: string | Uint8Array = '', signal?: AbortSignal): CountedJob {
  return jobOf(() => buildWat(name), `wat:${name}`, stdin, signal);
}

/** A committed C or Rust program (test/fixtures/wasi-programs/<name>.wasm) as a job. */
export function programJob(name: string, stdin: string | Uint8Array = ''): CountedJob {
  return jobOf(() => fs.readFile(path.join(WASI_PROGRAMS, `${name}.wasm`)), `program:${name}`, stdin);
}

export function text(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

/** Polls until `condition` holds; fails after `timeoutMs` (a deadline, not a sleep). */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
