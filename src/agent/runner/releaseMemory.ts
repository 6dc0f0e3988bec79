/**
 * Gives large job buffers (inputs and outputs of many MiB, in shared memory) back to the system
 * soon after a job, instead of whenever V8 next collects garbage: an agent idle after a 60 MiB job
 * allocates next to nothing, so nothing collected them, and it held every byte of them (and more
 * after each further big job) until its next burst of work.
 *
 * It asks V8 for a full collection, through the `gc` function that `--expose-gc` provides to new
 * contexts (turned on here, for this process, only when a large job has run). Where that is not
 * possible it does nothing: the buffers are then freed by the next ordinary collection.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

/** Jobs that moved at least this much (input plus output) are followed by a collection. */
export const LARGE_JOB_BYTES = 8 * 1024 * 1024;

let collector: (() => void) | undefined | false;

function gcFunction(): (() => void) | undefined {
  if (collector === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      collector = vm.runInNewContext('gc') as () => void;
    } catch {
      collector = false;
    }
  }
  return collector || undefined;
}

/** A full collection now (on this thread's heap). */
export function collectNow(): void {
  gcFunction()?.();
}

let pending: NodeJS.Timeout | undefined;

/**
 * A collection after `delayMs`, once, however many large jobs end meanwhile: by then the answer
 * that holds the job's output has usually been written. Never keeps the process alive.
 */
export function collectSoon(delayMs = 250): void {
  if (pending) return;
  pending = setTimeout(() => {
    pending = undefined;
    collectNow();
  }, delayMs);
  pending.unref();
}
