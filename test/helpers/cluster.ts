/**
 * Agents as their own processes (`serval agent` from tsc's out/ tree) on one S3 store, and Debian
 * haproxy in front of them: what a team runs (docs/scaling.md). Everything started here is stopped
 * by its pid.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { request } from './agent';
import { customSection } from './wasmBytes';

const CLI = path.resolve(__dirname, '../../src/cli/main.js');
/** scripts/haproxyConfig.cjs, shared with `npm run demo:cluster` (from out/test/helpers to the repository). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { haproxyConfig } = require(path.resolve(__dirname, '../../../scripts/haproxyConfig.cjs')) as {
  haproxyConfig(options: { port: number; agentUrls: string[]; pidFile: string; checkEveryMs: number; failAfter: number; timeouts: { connect: string; client: string; server: string } }): string;
};

export interface AgentProcess {
  url: string;
  child: ChildProcess;
  /** What the agent wrote on stderr (its JSON log lines). */
  stderr(): string;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
}

/** Starts `serval agent --port 0 --storage URL …`; resolves once it listens. */
export async function startAgentProcess(storage: string, env: NodeJS.ProcessEnv, extraArgs: string[] = []): Promise<AgentProcess> {
  const child = spawn(process.execPath, [CLI, 'agent', '--port', '0', '--storage', storage, ...extraArgs], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = once(child, 'exit');
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the agent did not listen within 20 s: ${err}`)), 20_000);
    child.stdout?.on('data', () => {
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the agent exited before listening: ${err.trim()}`));
    });
  });
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await exited;
  };
  return { url, child, stderr: () => err, stop: () => end('SIGTERM'), kill: () => end('SIGKILL') };
}

export function haproxyAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v haproxy'], { stdio: 'ignore' }).status === 0;
}

export interface Balancer {
  url: string;
  stop(): Promise<void>;
}

/** haproxy round robin over `agentUrls`, health-checked on GET /monitor/ping. */
export async function startBalancer(agentUrls: string[]): Promise<Balancer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'serval-haproxy-'));
  const port = await freePort();
  const pidFile = path.join(dir, 'haproxy.pid');
  // Checked often and dropped at the first failed check: the tests kill agents and want haproxy to notice at once.
  const config = haproxyConfig({ port, agentUrls, pidFile, checkEveryMs: 200, failAfter: 1, timeouts: { connect: '1s', client: '30s', server: '30s' } });
  await fs.writeFile(path.join(dir, 'haproxy.cfg'), config);
  const started = spawnSync('haproxy', ['-D', '-f', path.join(dir, 'haproxy.cfg'), '-p', pidFile], { encoding: 'utf8' });
  if (started.status !== 0) throw new Error(`haproxy did not start: ${started.stderr}`);
  const pid = Number((await fs.readFile(pidFile, 'utf8')).trim());
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    stop: async () => {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
      for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 20));
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves once `count` different agents (by instance id) answered through the balancer. */
export async function waitForAgentsBehind(balancerUrl: string, count: number, timeoutMs = 10_000): Promise<void> {
  const seen = new Set<string>();
  const deadline = Date.now() + timeoutMs;
  while (seen.size < count) {
    if (Date.now() > deadline) throw new Error(`only ${seen.size} of ${count} agents answered through the balancer`);
    const answer = await request(balancerUrl, 'GET', '/monitor/status').catch(() => undefined);
    if (answer?.status === 200) seen.add((JSON.parse(answer.text) as { instance_id: string }).instance_id);
    else await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `wasm` with a custom section of `padding` bytes: a valid module of any size, running as before. */
export function paddedWasm(wasm: Uint8Array, padding: number): Buffer {
  return Buffer.concat([Buffer.from(wasm), customSection('serval-padding', Buffer.alloc(padding, 0x5a))]);
}

