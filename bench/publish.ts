/**
 * Publishing a 60 MiB executable (loudify plus 60 MiB of custom sections, as a debug build has)
 * through the client, against `cp` of the same file; then its first run (checked, custom sections
 * dropped, compiled) against a hot run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { encodeUleb } from '../src/wasm/memoryCap';
import { INPUT } from './latency';
import { percentile } from './measure';
import { type BenchContext, type BenchSection, ms, ratio, type Row } from './report';

const MiB = 1024 * 1024;
const RUNS = 3;

export const publish: BenchSection = {
  name: 'publish',
  title: 'publishing a 60 MiB executable, against cp',
  async run(context: BenchContext): Promise<Row[]> {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'serval-bench-cp-'));
    try {
      const publishMs: number[] = [];
      const cpMs: number[] = [];
      const firstRunMs: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        // Different bytes each round: the store must not find them already there.
        const big = withCustomSection(context.wasm, 60 * MiB, i);
        const source = path.join(folder, `big-${i}.wasm`);
        await writeFile(source, big);
        cpMs.push(timedSync(() => spawnSync('cp', [source, path.join(folder, `copy-${i}.wasm`)])));
        const version = `9.0.${i}`;
        let started = performance.now();
        await context.agentClient.putExecutable(context.job, version, big);
        publishMs.push(performance.now() - started);
        started = performance.now();
        await context.agentClient.run(context.job, INPUT, { version });
        firstRunMs.push(performance.now() - started);
      }
      const [published, copied, first] = [percentile(publishMs, 50), percentile(cpMs, 50), percentile(firstRunMs, 50)];
      const hot = context.figures.get('agentP50') ?? Number.NaN;
      context.figures.set('publishRatio', published / copied);
      return [
        { what: '60 MiB publish / cp', value: `${ms(published)} / ${ms(copied)}`, meaning: `putExecutable (hash on the client, upload, hash and store on the agent) against cp of the file: ${ratio(published / copied)}, median of ${RUNS}` },
        { what: 'its first run', value: ms(first), meaning: `read back, checked, custom sections dropped and compiled once: ${ratio(first / hot)} a hot run (${ms(hot)})` },
      ];
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  },
};

function timedSync(run: () => unknown): number {
  const started = performance.now();
  run();
  return performance.now() - started;
}

/** The module with a custom section "bench" of `size` payload bytes appended (seeded by `seed`). */
export function withCustomSection(wasm: Uint8Array, size: number, seed: number): Uint8Array {
  const name = Buffer.from('bench');
  const payload = Buffer.alloc(size, seed + 1);
  const content = Buffer.concat([Buffer.from([name.length]), name, payload]);
  return Buffer.concat([wasm, Buffer.from([0, ...encodeUleb(content.length)]), content]);
}
