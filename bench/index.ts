/**
 * `npm run bench`: the agent's speed next to a bare in-process run of the same job, measured in the
 * same run so that the ratios hold on any machine.
 *
 *   (a) latency of a hot small job (loudify, 1 KB input) through the HTTP API, one at a time over a
 *       keep-alive connection, against the bare in-process run of the same compiled module;
 *   (b) jobs per second with 32 concurrent keep-alive clients;
 *   (c) checkManifest on a typical manifest.
 *
 * The agent runs in its own process (`serval agent`, from tsc's out/ tree), as it does for the
 * extension and the CLI, so that the load generator here does not steal its event loop.
 * Loopback only; every loop is bounded by a count and a time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { AgentClient } from '../src/client/client';
import { checkManifest } from '../src/manifest';
import { bareRunner } from './bare';
import { percentile, sequentialSamples, throughput, type Bounds } from './measure';

const REPO = path.resolve(__dirname, '../..');
const SAMPLE = path.join(REPO, 'samples', 'loudify');
const JOB = 'sh.serval.loudify';
const INPUT = Buffer.alloc(1024, 'the quick brown fox jumps over the lazy dog\n');
const CONCURRENCY = 32;

const LATENCY: Bounds = { warmup: 200, count: 3_000, maxMs: 5_000 };
const LOAD: Bounds = { warmup: 500, count: 30_000, maxMs: 6_000 };
const PARSE: Bounds = { warmup: 500, count: 20_000, maxMs: 2_000 };

const TARGETS = { latencyRatio: 2.5, jobsPerSecond: 1_500, checkManifestUs: 2_000 };

interface Row {
  what: string;
  value: string;
  baseline: string;
  ratio: string;
  target: string;
  ok: boolean | undefined;
}

async function main(): Promise<void> {
  const manifest = readFileSync(path.join(SAMPLE, 'manifest.toml'), 'utf8');
  const wasm = readFileSync(path.join(SAMPLE, 'loudify.wasm'));
  const storage = await mkdtemp(path.join(os.tmpdir(), 'serval-bench-'));
  const agent = await spawnAgent(storage);
  try {
    const client = new AgentClient({ url: agent.url });
    await client.storeManifest(manifest);
    await client.putExecutable(JOB, '1.0.0', wasm);
    await checkJobWorks(client);
    const rows = [...(await latencyRows(agent.url, client, wasm)), await throughputRow(agent.url), await checkManifestRow(manifest)];
    printTable(rows);
  } finally {
    agent.child.kill('SIGTERM');
    await new Promise((resolve) => agent.child.once('exit', resolve));
    await rm(storage, { recursive: true, force: true });
  }
}

async function checkJobWorks(client: AgentClient): Promise<void> {
  const result = await client.run(JOB, INPUT);
  if (result.exitCode !== 0 || !Buffer.from(result.output).equals(Buffer.from(INPUT.toString().toUpperCase()))) {
    throw new Error(`loudify did not upper-case its input through the agent (exit code ${result.exitCode})`);
  }
}

async function latencyRows(url: string, client: AgentClient, wasm: Uint8Array): Promise<Row[]> {
  const bare = await bareRunner(wasm);
  const bareSamples = await sequentialSamples(() => bare.run(INPUT), LATENCY);
  await bare.close();
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const httpSamples = await sequentialSamples(() => postRun(url, keepAlive), LATENCY);
  keepAlive.destroy();
  const clientSamples = await sequentialSamples(() => client.run(JOB, INPUT), LATENCY);

  const rows: Row[] = [];
  for (const p of [50, 95]) {
    const baseline = percentile(bareSamples, p);
    rows.push(latencyRow(`loudify 1 KB p${p}, HTTP keep-alive`, percentile(httpSamples, p), baseline));
    rows.push(latencyRow(`loudify 1 KB p${p}, AgentClient`, percentile(clientSamples, p), baseline));
  }
  return rows;
}

function latencyRow(what: string, valueMs: number, baselineMs: number): Row {
  const ratio = valueMs / baselineMs;
  return {
    what,
    value: `${valueMs.toFixed(3)} ms`,
    baseline: `${baselineMs.toFixed(3)} ms bare`,
    ratio: `${ratio.toFixed(2)}x`,
    target: `<= ${TARGETS.latencyRatio}x`,
    ok: ratio <= TARGETS.latencyRatio,
  };
}

async function throughputRow(url: string): Promise<Row> {
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  const { perSecond, done } = await throughput(() => postRun(url, keepAlive), CONCURRENCY, LOAD);
  // The load generator shares the machine with the agent: show what it took, to read the number right.
  const cpu = process.cpuUsage(cpuBefore);
  const generatorShare = (cpu.user + cpu.system) / 1000 / (performance.now() - wallBefore);
  keepAlive.destroy();
  return {
    what: `throughput, ${CONCURRENCY} clients (${done} jobs)`,
    value: `${Math.round(perSecond)} jobs/s`,
    baseline: `(load generator: ${Math.round(generatorShare * 100)}% of a CPU)`,
    ratio: '',
    target: `>= ${TARGETS.jobsPerSecond}`,
    ok: perSecond >= TARGETS.jobsPerSecond,
  };
}

async function checkManifestRow(manifest: string): Promise<Row> {
  let problems = 0;
  const samples = await sequentialSamples(() => void (problems += checkManifest(manifest).problems.length), PARSE);
  const medianUs = percentile(samples, 50) * 1000;
  if (problems !== 0) throw new Error('the benchmark manifest has problems: fix samples/loudify/manifest.toml');
  return {
    what: 'checkManifest, typical manifest, median',
    value: `${medianUs.toFixed(1)} µs`,
    baseline: '',
    ratio: '',
    target: `<= ${TARGETS.checkManifestUs} µs`,
    ok: medianUs <= TARGETS.checkManifestUs,
  };
}

/** One POST /v1/jobs/:name/run over plain node:http; fails loudly on anything but exit code 0. */
function postRun(url: string, agent: http.Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${url}/v1/jobs/${JOB}/run`, { method: 'POST', agent }, (response) => {
      response.on('data', () => undefined);
      response.on('end', () =>
        response.statusCode === 200 && response.headers['serval-exit-code'] === '0'
          ? resolve()
          : reject(new Error(`the agent answered ${response.statusCode}, exit code ${response.headers['serval-exit-code']}`)),
      );
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(INPUT);
  });
}

async function spawnAgent(storage: string): Promise<{ child: ChildProcess; url: string }> {
  const cli = path.join(REPO, 'out', 'src', 'cli', 'main.js');
  const child = spawn(process.execPath, [cli, 'agent', '--port', '0', '--storage', storage], { stdio: ['ignore', 'pipe', 'ignore'] });
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /^listening on (\S+)\n/.exec(stdout);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`serval agent exited with ${code} before listening`)));
  });
  return { child, url };
}

function printTable(rows: readonly Row[]): void {
  const header: Row = { what: 'benchmark', value: 'value', baseline: 'baseline', ratio: 'ratio', target: 'target', ok: undefined };
  const cells = (row: Row) => [row.what, row.value, row.baseline, row.ratio, row.target, row.ok === undefined ? '' : row.ok ? 'ok' : 'MISSED'];
  const table = [header, ...rows].map(cells);
  const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  const lines = table.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
  console.log(`Serval bench: node ${process.version}, ${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? 'unknown CPU'}`);
  console.log(lines.join('\n'));
  console.log(`load average while measuring: ${os.loadavg().map((load) => load.toFixed(2)).join(' ')} (other work on the machine skews the numbers)`);
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
