/**
 * Publishing a 60 MiB executable (loudify plus 60 MiB of custom sections, as a debug build has)
 * against `cp` of the same file, in interleaved rounds: the PUT as any HTTP client sends it (curl
 * -T: the agent streams it into the store, hashing it once), and through AgentClient (which
 * hashes it first, for Serval-Integrity); then its first run (checked, custom sections dropped,
 * compiled) against a hot run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { PATHS } from '../src/api/contract';
import { encodeUleb } from '../src/wasm/memoryCap';
import { INPUT } from './latency';
import { percentile } from './measure';
import { resetPeakRss, sampleProcess } from './proc';
import { type BenchContext, type BenchSection, ms, ratio, type Row } from './report';

const MiB = 1024 * 1024;
const ROUNDS = 5;

export const publish: BenchSection = {
  name: 'publish',
  title: 'publishing a 60 MiB executable, against cp',
  async run(context: BenchContext): Promise<Row[]> {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'serval-bench-cp-'));
    try {
      const [cpMs, putMs, clientMs, firstRunMs]: number[][] = [[], [], [], []];
      let peakOverMiB = 0;
      for (let i = 0; i < ROUNDS; i++) {
        // Different bytes each time: the store must not find them already there.
        const big = withCustomSection(context.wasm, 60 * MiB, 2 * i);
        const source = path.join(folder, `big-${i}.wasm`);
        await writeFile(source, big);
        cpMs.push(timedSync(() => spawnSync('cp', [source, path.join(folder, `copy-${i}.wasm`)])));
        const version = `9.0.${i}`;
        const rssBefore = sampleProcess(context.agent.pid).rssBytes;
        resetPeakRss(context.agent.pid);
        putMs.push(await timed(() => plainPut(context, version, big)));
        peakOverMiB = Math.max(peakOverMiB, (sampleProcess(context.agent.pid).peakRssBytes - rssBefore) / MiB);
        const other = withCustomSection(context.wasm, 60 * MiB, 2 * i + 1);
        clientMs.push(await timed(() => context.agentClient.putExecutable(context.job, `9.1.${i}`, other)));
        firstRunMs.push(await timed(() => context.agentClient.run(context.job, INPUT, { version })));
        await rm(path.join(folder, `copy-${i}.wasm`));
      }
      const [copied, put, client, first] = [cpMs, putMs, clientMs, firstRunMs].map((figures) => percentile(figures, 50)) as [number, number, number, number];
      const hot = context.figures.get('agentP50') ?? Number.NaN;
      context.figures.set('publishRatio', put / copied);
      return [
        {
          what: '60 MiB PUT / cp',
          value: `${ms(put)} / ${ms(copied)}`,
          meaning: `the upload as any HTTP client sends it (streamed into the store, hashed once, validated, fsync'd) against cp of the file: ${ratio(put / copied)}, medians of ${ROUNDS}`,
        },
        {
          what: 'agent memory for a PUT',
          value: `${peakOverMiB.toFixed(1)} MiB`,
          meaning: 'its peak RSS over its RSS before the upload, the most of any round: the body is never held whole (what remains: socket chunks not yet collected, the read-ahead, write batches)',
        },
        {
          what: 'through AgentClient',
          value: ms(client),
          meaning: `the same through the CLI's and editor's client, which hashes the bytes first for Serval-Integrity: ${ratio(client / copied)} cp`,
        },
        {
          what: 'its first run',
          value: ms(first),
          meaning: `read back, checked, custom sections dropped and compiled once${Number.isNaN(hot) ? ' (run the latency section too to compare it with a hot run)' : `: ${ratio(first / hot)} a hot run (${ms(hot)})`}`,
        },
      ];
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  },
};

/** `PUT …/executable/VERSION` with the bytes and nothing else, as `curl -T` sends it. */
function plainPut(context: BenchContext, version: string, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const url = new URL(PATHS.executable(context.job, version), context.agent.url);
    const req = http.request(url, { method: 'PUT', agent: false, headers: { 'content-length': bytes.byteLength } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 201 ? resolve() : reject(new Error(`the agent answered ${res.statusCode} to a 60 MiB PUT`))));
    });
    req.on('error', reject);
    req.end(bytes);
  });
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

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
