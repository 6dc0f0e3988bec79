/** Bounded measuring loops and their statistics. Every loop stops at a count or a time, whichever first. */
import { performance } from 'node:perf_hooks';

export interface Bounds {
  /** Runs not measured, first, so that compilation and caches settle. */
  warmup: number;
  count: number;
  maxMs: number;
}

/** Durations in milliseconds of `run`, called one at a time. */
export async function sequentialSamples(run: () => Promise<unknown> | unknown, bounds: Bounds): Promise<number[]> {
  for (let i = 0; i < bounds.warmup; i++) await run();
  const samples: number[] = [];
  const deadline = performance.now() + bounds.maxMs;
  while (samples.length < bounds.count && performance.now() < deadline) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  return samples;
}

export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

/**
 * Durations of each of `runs`, called one at a time, in `rounds` turns (a, b, c, a, b, c, ...) so
 * that a burst of other work on the machine skews them alike. `bounds` is per run, over all rounds.
 */
export async function interleavedSamples<K extends string>(
  runs: Record<K, () => Promise<unknown> | unknown>,
  bounds: Bounds,
  rounds: number,
): Promise<Record<K, number[]>> {
  const names = Object.keys(runs) as K[];
  const samples = {} as Record<K, number[]>;
  for (const name of names) samples[name] = [];
  const perRound: Bounds = {
    warmup: Math.ceil(bounds.warmup / rounds),
    count: Math.ceil(bounds.count / rounds),
    maxMs: bounds.maxMs / rounds,
  };
  for (let round = 0; round < rounds; round++) {
    for (const name of names) samples[name].push(...(await sequentialSamples(runs[name], perRound)));
  }
  return samples;
}
