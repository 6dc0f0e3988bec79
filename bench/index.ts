/**
 * `npm run bench`: the agent's speed next to a bare in-process run of the same job, measured in the
 * same run so that the ratios hold on any machine.
 *
 *   (a) latency of a hot small job (loudify, 1 KB input) through the HTTP API, one at a time over a
 *       keep-alive connection, against the bare in-process run of the same compiled module; next
 *       to it the JobRunner alone (the worker hop, no HTTP) and a do-nothing node:http server
 *       (the floor that HTTP sets, whatever the agent does);
 *   (b) jobs per second with 32 concurrent keep-alive clients, next to the do-nothing server's;
 *   (c) checkManifest on a typical manifest.
 *
 * The agent and the do-nothing server run in their own processes (`serval agent`, from tsc's out/
 * tree, as for the extension and the CLI), so that the load generator here does not steal their
 * event loop. The latency loops take turns in rounds, so that a burst of other work on the
 * machine hits them all alike. Loopback only; every loop is bounded by a count and a time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { JobRunner } from '../src/agent/runner/pool';
import { DEFAULT_JOB_LIMITS } from '../src/agent/runner/types';
import { AgentClient } from '../src/client/client';
import { checkManifest } from '../src/manifest';
import { bareRunner } from './bare';
import { interleavedSamples, percentile, sequentialSamples, throughput, type Bounds } from './measure';

const REPO = path.resolve(__dirname, '../..');
const SAMPLE = path.join(REPO, 'samples', 'loudify');
const JOB = 'sh.serval.loudify';
const INPUT = Buffer.alloc(1024, 'the quick brown fox jumps over the lazy dog\n');
const CONCURRENCY = 32;

/** Per latency loop, over all its rounds. */
const LATENCY: Bounds = { warmup: 200, count: 3_000, maxMs: 5_000 };
const LATENCY_ROUNDS = 5;
const LOAD: Bounds = { warmup: 500, count: 30_000, maxMs: 6_000 };
const PARSE: Bounds = { warmup: 500, count: 20_000, maxMs: 2_000 };

const TARGETS = { latencyRatio: 2.5, jobsPerSecond: 1_500, checkManifestUs: 2_000 };

interface Row {
  what: string;
  value: string;
  baseline: string;
  ratio: string;
  /** For HTTP rows: what the agent adds to a do-nothing server. */
  overFloor: string;
  target: string;
  ok: boolean | undefined;
}

interface Server {
  child: ChildProcess;
  url: string;
}

async function main(): Promise<void> {
  const manifest = readFileSync(path.join(SAMPLE, 'manifest.toml'), 'utf8');
  const wasm = readFileSync(path.join(SAMPLE, 'loudify.wasm'));
  const storage = await mkdtemp(path.join(os.tmpdir(), 'serval-bench-'));
  const cli = path.join(REPO, 'out', 'src', 'cli', 'main.js');
  const agent = await spawnServer([cli, 'agent', '--port', '0', '--storage', storage]);
  const floor = await spawnServer([path.join(__dirname, 'floorServer.js')]);
  try {
    const client = new AgentClient({ url: agent.url });
    await client.storeManifest(manifest);
    await client.putExecutable(JOB, '1.0.0', wasm);
    await checkJobWorks(client);
    const rows = [
      ...(await latencyRows(agent.url, floor.url, client, wasm)),
      ...(await throughputRows(agent.url, floor.url)),
      await checkManifestRow(manifest),
    ];
    printTable(rows);
  } finally {
    await Promise.all([stop(agent), stop(floor)]);
    await rm(storage, { recursive: true, force: true });
  }
}

async function checkJobWorks(client: AgentClient): Promise<void> {
  const result = await client.run(JOB, INPUT);
  if (result.exitCode !== 0 || !Buffer.from(result.output).equals(Buffer.from(INPUT.toString().toUpperCase()))) {
    throw new Error(`loudify did not upper-case its input through the agent (exit code ${result.exitCode})`);
  }
}

async function latencyRows(agentUrl: string, floorUrl: string, client: AgentClient, wasm: Uint8Array): Promise<Row[]> {
  const bare = await bareRunner(wasm);
  // The agent's runner with the agent's defaults, in this process: the worker hop without HTTP.
  const runner = new JobRunner({ limits: DEFAULT_JOB_LIMITS });
  const runJob = { key: 'bench', loadBytes: () => Promise.resolve(wasm), stdin: INPUT };
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const samples = await interleavedSamples(
    {
      bare: () => bare.run(INPUT),
      runner: () => runner.run(runJob),
      floor: () => postRun(floorUrl, keepAlive),
      http: () => postRun(agentUrl, keepAlive),
      client: () => client.run(JOB, INPUT),
    },
    LATENCY,
    LATENCY_ROUNDS,
  );
  keepAlive.destroy();
  await Promise.all([bare.close(), runner.close()]);

  const rows: Row[] = [];
  for (const p of [50, 95]) {
    const at = (name: keyof typeof samples) => percentile(samples[name], p);
    const [bareMs, floorMs] = [at('bare'), at('floor')];
    rows.push({ ...latencyRow(`loudify 1 KB p${p}, bare in-process run`, bareMs, bareMs), target: '', ok: undefined });
    rows.push({ ...latencyRow(`loudify 1 KB p${p}, JobRunner (no HTTP)`, at('runner'), bareMs), target: '', ok: undefined });
    rows.push({ ...latencyRow(`do-nothing node:http p${p} (HTTP floor)`, floorMs, bareMs), target: '', ok: undefined });
    rows.push(latencyRow(`loudify 1 KB p${p}, HTTP keep-alive`, at('http'), bareMs, floorMs));
    rows.push(latencyRow(`loudify 1 KB p${p}, AgentClient`, at('client'), bareMs, floorMs));
  }
  return rows;
}

function latencyRow(what: string, valueMs: number, bareMs: number, floorMs?: number): Row {
  const ratio = valueMs / bareMs;
  return {
    what,
    value: `${valueMs.toFixed(3)} ms`,
    baseline: `${bareMs.toFixed(3)} ms bare`,
    ratio: `${ratio.toFixed(2)}x`,
    overFloor: floorMs === undefined ? '' : `+${(valueMs - floorMs).toFixed(3)} ms`,
    target: `<= ${TARGETS.latencyRatio}x`,
    ok: ratio <= TARGETS.latencyRatio,
  };
}

async function throughputRows(agentUrl: string, floorUrl: string): Promise<Row[]> {
  const floor = await jobsPerSecond(floorUrl);
  const agent = await jobsPerSecond(agentUrl);
  return [
    {
      what: `do-nothing node:http, ${CONCURRENCY} clients (${floor.done})`,
      value: `${Math.round(floor.perSecond)} req/s`,
      baseline: `(load generator: ${floor.generatorPercent}% CPU)`,
      ratio: '',
      overFloor: '',
      target: '',
      ok: undefined,
    },
    {
      what: `throughput, ${CONCURRENCY} clients (${agent.done} jobs)`,
      value: `${Math.round(agent.perSecond)} jobs/s`,
      baseline: `(load generator: ${agent.generatorPercent}% CPU)`,
      ratio: `${(agent.perSecond / floor.perSecond).toFixed(2)}x floor`,
      overFloor: '',
      target: `>= ${TARGETS.jobsPerSecond}`,
      ok: agent.perSecond >= TARGETS.jobsPerSecond,
    },
  ];
}

async function jobsPerSecond(url: string): Promise<{ perSecond: number; done: number; generatorPercent: number }> {
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  const { perSecond, done } = await throughput(() => postRun(url, keepAlive), CONCURRENCY, LOAD);
  // The load generator shares the machine with the server: show what it took, to read the number right.
  const cpu = process.cpuUsage(cpuBefore);
  const generatorShare = (cpu.user + cpu.system) / 1000 / (performance.now() - wallBefore);
  keepAlive.destroy();
  return { perSecond, done, generatorPercent: Math.round(generatorShare * 100) };
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
    overFloor: '',
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
          : reject(new Error(`the server answered ${response.statusCode}, exit code ${response.headers['serval-exit-code']}`)),
      );
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(INPUT);
  });
}

/** Starts a node script that prints `listening on <url>` once it listens. */
async function spawnServer(args: string[]): Promise<Server> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /^listening on (\S+)\n/.exec(stdout);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`${path.basename(args[0]!)} exited with ${code} before listening`)));
  });
  return { child, url };
}

async function stop(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  server.child.kill('SIGTERM');
  await new Promise((resolve) => server.child.once('exit', resolve));
}

function printTable(rows: readonly Row[]): void {
  const header: Row = { what: 'benchmark', value: 'value', baseline: 'baseline', ratio: 'ratio', overFloor: 'over floor', target: 'target', ok: undefined };
  const cells = (row: Row) => [row.what, row.value, row.baseline, row.ratio, row.overFloor, row.target, row.ok === undefined ? '' : row.ok ? 'ok' : 'MISSED'];
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
