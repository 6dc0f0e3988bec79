/**
 * Runs a job on the calling thread with the same WASI host as the workers, without any limit.
 * It is the "bare in-process run" that the benchmark compares the pool with; it cannot stop a
 * job that loops forever, so the agent never uses it for stored jobs.
 */
import type { JobOutcome } from './types';
import { MemorySink, WasiHost } from './wasi';

let shared: { host: WasiHost; stdout: MemorySink; stderr: MemorySink } | undefined;

export function runInProcess(module: WebAssembly.Module, stdin: Uint8Array): JobOutcome {
  // One host for the thread: a run is synchronous, so runs never overlap.
  if (!shared) {
    const stdout = new MemorySink();
    const stderr = new MemorySink();
    shared = { host: new WasiHost(stdout, stderr), stdout, stderr };
  }
  const { host, stdout, stderr } = shared;
  const startedAt = performance.now();
  const end = host.run(module, stdin);
  const durationMs = performance.now() - startedAt;
  const output = { stdout: stdout.take(), stderr: stderr.take(), durationMs };
  return end.kind === 'exited'
    ? { kind: 'exited', exitCode: end.exitCode, outputLimited: end.outputLimited, ...output }
    : { kind: 'trapped', trap: end.trap, ...output };
}
