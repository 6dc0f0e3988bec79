/**
 * The baseline: the same job, prepared exactly as the agent prepares it (memory capped), run on this
 * thread by the agent's own WASI host, with no HTTP, no worker hop and no storage.
 */
import { DEFAULT_JOB_LIMITS } from '../src/agent/runner/types';
import { prepareJobModule, runInProcess } from '../src/agent/runner/pool';

export interface BareRunner {
  run(stdin: Uint8Array): void;
  close(): Promise<void>;
}

export async function bareRunner(wasm: Uint8Array): Promise<BareRunner> {
  const prepared = await prepareJobModule(wasm, DEFAULT_JOB_LIMITS.memoryBytes);
  if (!prepared.ok) throw new Error(`the bench job cannot run: ${prepared.message}`);
  const { module } = prepared;
  return {
    run(stdin) {
      const outcome = runInProcess(module, stdin);
      if (outcome.kind !== 'exited' || outcome.exitCode !== 0) throw new Error(`the bare run failed: ${outcome.kind}`);
    },
    close: async () => undefined,
  };
}
