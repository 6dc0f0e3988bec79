/**
 * The S3 store (a real Ceph RGW, when one is configured: SERVAL_TEST_S3_ENDPOINT and its keys, as
 * scripts/ceph/start.sh writes them) next to a local folder, in the same run: publishing a 10 MiB
 * executable and a hot run of it, through one agent on each store.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { AgentClient } from '../src/client/client';
import { INPUT } from './latency';
import { interleavedSamples, percentile } from './measure';
import { withCustomSection } from './publish';
import { type BenchContext, type BenchSection, ms, ratio, type Row, type Server } from './report';
import { spawnServer, stop } from './servers';

const MiB = 1024 * 1024;
const PUBLISHES = 5;
const HOT = { warmup: 50, count: 1_000, maxMs: 4_000 };
const ROUNDS = 4;

interface Side {
  server: Server;
  client: AgentClient;
}

export const storage: BenchSection = {
  name: 'storage',
  title: 'a 10 MiB executable on an S3 store (Ceph RGW) next to a local folder',
  async run(context: BenchContext): Promise<Row[]> {
    const endpoint = process.env.SERVAL_TEST_S3_ENDPOINT;
    const keyId = process.env.SERVAL_TEST_S3_ACCESS_KEY_ID;
    const secret = process.env.SERVAL_TEST_S3_SECRET_ACCESS_KEY;
    if (!endpoint || !keyId || !secret) {
      return [{ what: 'S3 rows', value: 'skipped', meaning: 'no S3 store configured: run scripts/ceph/start.sh and source its env file' }];
    }
    const cli = path.resolve(__dirname, '../src/cli/main.js');
    const folder = await mkdtemp(path.join(os.tmpdir(), 'serval-bench-store-'));
    const bucket = process.env.SERVAL_TEST_S3_BUCKET || 'serval';
    const env = { ...process.env, AWS_ENDPOINT_URL: endpoint, AWS_ACCESS_KEY_ID: keyId, AWS_SECRET_ACCESS_KEY: secret };
    const limits = ['--max-body-bytes', String(64 * MiB)];
    const sides: Side[] = [];
    try {
      for (const location of [path.join(folder, 'store'), `s3://${bucket}/bench/${randomUUID()}`]) {
        const cache = location.startsWith('s3://') ? ['--s3-cache', path.join(folder, 'cache')] : [];
        const server = await spawnServer([cli, 'agent', '--port', '0', '--storage', location, ...cache, ...limits], env);
        sides.push({ server, client: new AgentClient({ url: server.url }) });
      }
      const [local, s3] = sides as [Side, Side];
      for (const side of sides) await side.client.storeManifest(context.manifest);

      // Publishes take turns, with new bytes each time (the store must not find them already there).
      const publishMs: [number[], number[]] = [[], []];
      for (let i = 0; i < PUBLISHES; i++) {
        const big = withCustomSection(context.wasm, 10 * MiB, 100 + i);
        for (const [index, side] of sides.entries()) {
          const started = performance.now();
          await side.client.putExecutable(context.job, `10.0.${i}`, big);
          publishMs[index]!.push(performance.now() - started);
        }
      }
      const version = `10.0.${PUBLISHES - 1}`;
      // The first S3 run downloads the executable into the agent's cache; every later one is hot.
      const started = performance.now();
      await s3.client.run(context.job, INPUT, { version });
      const firstS3Run = performance.now() - started;
      await local.client.run(context.job, INPUT, { version });
      const hot = await interleavedSamples(
        { local: () => local.client.run(context.job, INPUT, { version }), s3: () => s3.client.run(context.job, INPUT, { version }) },
        HOT,
        ROUNDS,
      );
      const [publishLocal, publishS3] = publishMs.map((samples) => percentile(samples, 50)) as [number, number];
      const [hotLocal, hotS3] = [percentile(hot.local, 50), percentile(hot.s3, 50)];
      const [p99Local, p99S3] = [percentile(hot.local, 99), percentile(hot.s3, 99)];
      context.figures.set('s3PublishRatio', publishS3 / publishLocal);
      context.figures.set('s3HotRunRatio', hotS3 / hotLocal);
      return [
        { what: '10 MiB publish, S3 / local', value: `${ms(publishS3)} / ${ms(publishLocal)}`, meaning: `${ratio(publishS3 / publishLocal)}: upload to the RGW and a new index generation, against fsync'd files; median of ${PUBLISHES}` },
        { what: 'hot run p50, S3 / local', value: `${ms(hotS3)} / ${ms(hotLocal)}`, meaning: `${ratio(hotS3 / hotLocal)}: a hot run asks the store nothing (catalogue in memory, bytes cached and compiled); ${hot.s3.length} runs each, taking turns` },
        { what: 'hot run p99, S3 / local', value: `${ms(p99S3)} / ${ms(p99Local)}`, meaning: ratio(p99S3 / p99Local) },
        { what: 'first run on S3', value: ms(firstS3Run), meaning: `download of 10 MiB from the RGW, verified, cached and compiled: ${ratio(firstS3Run / hotS3)} a hot S3 run` },
      ];
    } finally {
      await Promise.all(sides.map((side) => stop(side.server)));
      await rm(folder, { recursive: true, force: true });
    }
  },
};
