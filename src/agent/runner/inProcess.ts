/**
 * Runs a job on the calling thread with the same WASI host as the workers, without any limit.
 * It is the "bare in-process run" that the benchmark compares the pool with; it cannot stop a
 * job that loops forever, so the agent never uses it for stored jobs.
 */
import { JobMemories, memoryShapeOf } from './jobMemory';
import type { JobOutcome } from './types';
import { MemorySink, type RunContext, WasiHost } from './wasi';

let shared: { host: WasiHost; stdout: MemorySink; stderr: MemorySink; memories: JobMemories<WebAssembly.Module>; last?: WebAssembly.Module } | undefined;

export function runInProcess(module: WebAssembly.Module, stdin: Uint8Array, context?: RunContext): JobOutcome {
  // One host for the thread: a run is synchronous, so runs never overlap.
  if (!shared) {
    const stdout = new MemorySink();
    const stderr = new MemorySink();
    shared = { host: new WasiHost(stdout, stderr), stdout, stderr, memories: new JobMemories() };
  }
  const { host, stdout, stderr, memories } = shared;
  // Memories are reused as in a worker (jobMemory.ts); only the last module's is kept here.
  if (shared.last && shared.last !== module) memories.forget(shared.last);
  shared.last = module;
  const shape = memoryShapeOf(module);
  const startedAt = performance.now();
  const end = host.run(module, stdin, undefined, shape && memories.take(module, shape), context);
  const durationMs = performance.now() - startedAt;
  if (shape) memories.recycle(module, shape);
  const output = { stdout: stdout.take(), stderr: stderr.take(), durationMs };
  return end.kind === 'exited'
    ? { kind: 'exited', exitCode: end.exitCode, outputLimited: end.outputLimited, ...output }
    : { kind: 'trapped', trap: end.trap, ...output };
}
