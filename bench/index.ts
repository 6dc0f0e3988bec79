/**
 * `npm run bench`: the agent's speed next to its baselines, measured in one run so that the ratios
 * hold on any machine. Each section is a file of its own; add one by listing it in SECTIONS.
 *
 * The agent and the do-nothing node:http floor run in their own processes (`serval agent` from
 * tsc's out/ tree, and bench/floorServer.js), measured with the same AgentClient, so that this
 * load generator does not steal their event loop and their CPU and context switches can be read
 * from /proc. Loopback only; every loop is bounded by a count or a time.
 *
 *   npm run bench                    every section
 *   npm run bench -- latency load    only those (by name; goals then show what they can)
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { AgentClient } from '../src/client/client';
import { bigInputs } from './bigInputs';
import { component } from './component';
import { goals, manifestCheck } from './goals';
import { INPUT, latency } from './latency';
import { load } from './load';
import { hostile } from './hostile';
import { publish } from './publish';
import { type BenchContext, type BenchSection, loadAverage, printHeader, printSection } from './report';
import { spawnServer, stop } from './servers';
import { storage as storageRows } from './storage';
import { localStore } from './localStore';

const SECTIONS: BenchSection[] = [latency, load, bigInputs, publish, storageRows, localStore, component, manifestCheck, hostile, goals];

const REPO = path.resolve(__dirname, '../..');
const SAMPLE = path.join(REPO, 'samples', 'loudify');
const JOB = 'sh.serval.loudify';
const MiB = 1024 * 1024;

async function main(): Promise<void> {
  const chosen = process.argv.slice(2);
  const unknown = chosen.filter((name) => !SECTIONS.some((section) => section.name === name));
  if (unknown.length > 0) throw new Error(`no section named ${unknown.join(', ')}; the sections: ${SECTIONS.map((s) => s.name).join(', ')}`);
  const manifest = readFileSync(path.join(SAMPLE, 'manifest.toml'), 'utf8');
  const wasm = readFileSync(path.join(SAMPLE, 'loudify.wasm'));
  const storage = await mkdtemp(path.join(os.tmpdir(), 'serval-bench-'));
  const cli = path.join(REPO, 'out', 'src', 'cli', 'main.js');
  // Room for the 60 MiB rows (input, output, executable), and for 128 clients' jobs to wait.
  const limits = ['--max-body-bytes', String(128 * MiB), '--job-output-bytes', String(128 * MiB), '--max-queued-jobs', '1000'];
  // SERVAL_BENCH_PROF=1: the agent writes a CPU profile to /tmp/prof when the bench ends.
  const profile = process.env.SERVAL_BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : [];
  const agent = await spawnServer([...profile, cli, 'agent', '--port', '0', '--storage', storage, ...limits]);
  const floor = await spawnServer([...profile, path.join(__dirname, 'floorServer.js')]);
  try {
    const context: BenchContext = {
      agent,
      floor,
      agentClient: new AgentClient({ url: agent.url }),
      floorClient: new AgentClient({ url: floor.url }),
      job: JOB,
      wasm,
      manifest,
      figures: new Map(),
    };
    await context.agentClient.storeManifest(manifest);
    await context.agentClient.putExecutable(JOB, '1.0.0', wasm);
    await checkJobWorks(context);
    printHeader();
    for (const section of SECTIONS.filter((s) => chosen.length === 0 || chosen.includes(s.name))) {
      printSection(section.title, await section.run(context));
    }
    console.log(`\nload average after: ${loadAverage()}`);
  } finally {
    await Promise.all([stop(agent), stop(floor)]);
    await rm(storage, { recursive: true, force: true });
  }
}

async function checkJobWorks(context: BenchContext): Promise<void> {
  const result = await context.agentClient.run(JOB, INPUT);
  if (result.exitCode !== 0 || !Buffer.from(result.output).equals(Buffer.from(INPUT.toString().toUpperCase()))) {
    throw new Error(`loudify did not upper-case its input through the agent (exit code ${result.exitCode})`);
  }
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
