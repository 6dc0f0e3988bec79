/**
 * Local storage figures, measured in one run so the ratios hold on any machine
 * (`npm run bench -- local-store`):
 *
 *   (a) start of a store whose catalog lived through a million publishes: the first open of a
 *       journal of 1,000,000 lines never compacted (it compacts it), the next open, and the open of
 *       a new store holding the same jobs: the compacted one must open as fast as the new one;
 *   (b) the journal stays bounded while it is used: real publishes through the store, lines counted.
 * (Publishing against cp is the `publish` section.)
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

import { LocalJobStore, contentFile } from '../src/agent/storage';
import { JOURNAL_FILE } from '../src/agent/storage/journal';
import type { BenchSection, Row } from './report';

const PUBLISHES = Number(process.env.SERVAL_BENCH_PUBLISHES ?? 1_000_000);
const JOBS = 50;
const VERSIONS_PER_JOB = 4;
const RUNTIME_PUBLISHES = 3_000;
const ROUNDS = 3;

export const localStore: BenchSection = {
  name: 'local-store',
  title: `local store: start after ${PUBLISHES.toLocaleString('en')} publishes, catalog size in use`,
  async run(): Promise<Row[]> {
    const base = await fs.mkdtemp(path.join(os.tmpdir(), 'serval-bench-storage-'));
    try {
      return [...(await startRows(base)), await boundedJournalRow(base)];
    } finally {
      await fs.rm(base, { recursive: true, force: true });
    }
  },
};

async function startRows(base: string): Promise<Row[]> {
  const big = path.join(base, 'lived');
  const fresh = path.join(base, 'new');
  await writeStore(big, PUBLISHES);
  await writeStore(fresh, JOBS * VERSIONS_PER_JOB * 2);
  const first = await timeOpen(big);
  const again = median(await repeat(ROUNDS, () => timeOpen(big)));
  const baseline = median(await repeat(ROUNDS, () => timeOpen(fresh)));
  const lines = (await fs.readFile(path.join(big, JOURNAL_FILE), 'utf8')).split('\n').length - 1;
  return [
    { what: 'start, catalog never compacted', value: `${first.toFixed(0)} ms`, meaning: `first open of ${PUBLISHES.toLocaleString('en')} journal lines (it compacts them)` },
    {
      what: 'start, the same store compacted',
      value: `${again.toFixed(1)} ms`,
      meaning: `${lines} lines; a new store with the same ${JOBS * VERSIONS_PER_JOB} versions: ${baseline.toFixed(1)} ms (ratio ${(again / baseline).toFixed(2)})`,
    },
  ];
}

/** A store with JOBS × VERSIONS_PER_JOB live versions whose journal has `lines` put lines (re-publishes). */
async function writeStore(dir: string, lines: number): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const live: string[] = [];
  for (let job = 0; job < JOBS; job++) {
    for (let version = 0; version < VERSIONS_PER_JOB; version++) {
      const name = `bench.serval.job${job}`;
      for (const kind of ['manifest', 'executable'] as const) {
        const bytes = Buffer.from(`${kind} of ${name} ${version}\n`);
        const integrity = `sha256-${createHash('sha256').update(bytes).digest('base64')}`;
        const file = contentFile(dir, integrity);
        await fs.mkdir(path.dirname(file), { recursive: true });
        await fs.writeFile(file, bytes);
        live.push(JSON.stringify({ op: 'put', kind, name, version: String(version), integrity, size: bytes.byteLength }));
      }
    }
  }
  const handle = await fs.open(path.join(dir, JOURNAL_FILE), 'w');
  let chunk: string[] = [];
  for (let line = 0; line < lines; line++) {
    const record = live[line % live.length]!;
    chunk.push(`${record.slice(0, -1)},"at":${1_700_000_000_000 + line}}\n`);
    if (chunk.length === 10_000) {
      await handle.write(chunk.join(''));
      chunk = [];
    }
  }
  await handle.write(chunk.join(''));
  await handle.close();
}

async function timeOpen(dir: string): Promise<number> {
  const started = performance.now();
  const store = await LocalJobStore.open(dir, () => undefined);
  const ms = performance.now() - started;
  await store.close();
  return ms;
}

async function boundedJournalRow(base: string): Promise<Row> {
  const dir = path.join(base, 'used');
  const store = await LocalJobStore.open(dir, () => undefined);
  const started = performance.now();
  try {
    await store.putManifest('bench.serval.busy', '1', Buffer.from('# busy'));
    for (let i = 0; i < RUNTIME_PUBLISHES; i++) await store.putExecutable('bench.serval.busy', String(i % 10), Buffer.from(`bytes ${i % 10}`));
  } finally {
    await store.close();
  }
  const perPublishMs = (performance.now() - started) / RUNTIME_PUBLISHES;
  const lines = (await fs.readFile(path.join(dir, JOURNAL_FILE), 'utf8')).split('\n').length - 1;
  return {
    what: `catalog after ${RUNTIME_PUBLISHES} publishes in use`,
    value: `${lines} lines`,
    meaning: `compacted as it goes (never more than twice the live entries + 1000); ${perPublishMs.toFixed(2)} ms per fsync'd publish`,
  };
}

async function repeat(times: number, run: (round: number) => Promise<number> | number): Promise<number[]> {
  const samples: number[] = [];
  for (let round = 0; round < times; round++) samples.push(await run(round));
  return samples;
}

function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

