/**
 * Test helpers around a real agent: a fresh cacache folder in a temp dir, port 0 on 127.0.0.1,
 * its log kept in memory (tests can assert on it, and the test output stays clean).
 */
import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

import { startAgent } from '../../src/agent';
import { DEFAULT_JOB_LIMITS } from '../../src/agent/runner/types';
import type { AgentOptions, LogLevel, RunningAgent } from '../../src/agent/types';

export interface LogRecord {
  level: LogLevel;
  message: string;
  fields?: Record<string, unknown>;
}

export interface TestAgent {
  url: string;
  token?: string;
  storageDir: string;
  agent: RunningAgent;
  logs: LogRecord[];
  /** Closes the agent and removes the storage folder (unless the test passed its own). */
  stop(): Promise<void>;
}

/** A temp folder for a store; removed by the caller (or by stop() when startTestAgent made it). */
export function makeStorageDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'serval-agent-test-'));
}

export async function startTestAgent(overrides: Partial<AgentOptions> = {}): Promise<TestAgent> {
  const ownsDir = overrides.storageDir === undefined;
  const storageDir = overrides.storageDir ?? (await makeStorageDir());
  const logs: LogRecord[] = [];
  const agent = await startAgent({
    host: '127.0.0.1',
    port: 0,
    allowHosts: [],
    limits: { ...DEFAULT_JOB_LIMITS, timeoutMs: 10_000 },
    maxBodyBytes: 16 * 1024 * 1024,
    workers: 2,
    log: (level, message, fields) => logs.push({ level, message, fields }),
    ...overrides,
    storageDir,
  });
  return {
    url: agent.url,
    token: overrides.token,
    storageDir,
    agent,
    logs,
    stop: async () => {
      await agent.close();
      if (ownsDir) await fs.rm(storageDir, { recursive: true, force: true });
    },
  };
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The body as UTF-8 text. */
  text: string;
}

export interface HttpOptions {
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Bearer token sent as the Authorization header. */
  token?: string;
}

/**
 * One request on a fresh connection (no agent pooling: each test sees exactly its own request),
 * with full control over headers, Host included.
 */
/** The whole of a response, read to its end. */
export function readAnswer(res: http.IncomingMessage): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => {
      const body = Buffer.concat(chunks);
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
    });
    res.on('error', reject);
  });
}

export function request(baseUrl: string, method: string, pathAndQuery: string, options: HttpOptions = {}): Promise<HttpAnswer> {
  const url = new URL(pathAndQuery, baseUrl);
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => readAnswer(res).then(resolve, reject));
    req.on('error', reject);
    req.end(options.body === undefined ? undefined : Buffer.from(options.body));
  });
}

/** Polls `condition` until it holds or `timeoutMs` passes (then throws with `what`). */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A manifest text for `name` `version` in namespace `test.serval`. */
export function manifestText(name: string, version: string, extra = ''): string {
  return [
    `name = "${name}"`,
    'namespace = "test.serval"',
    `version = "${version}"`,
    `binary = "${name}.wasm"`,
    `description = "test job ${name}"`,
    extra,
  ].join('\n');
}

/** Stores a manifest and its executable through the API; returns the executable's integrity. */
export async function storeJob(agent: Pick<TestAgent, 'url' | 'token'>, name: string, version: string, wasm: Uint8Array): Promise<string> {
  const token = agent.token;
  const stored = await request(agent.url, 'POST', '/v1/storage/manifests', { body: manifestText(name, version), token });
  if (stored.status !== 201) throw new Error(`storing the manifest of ${name} failed: ${stored.status} ${stored.text}`);
  const put = await request(agent.url, 'PUT', `/v1/storage/manifests/test.serval.${name}/executable/${version}`, {
    body: wasm,
    token,
  });
  if (put.status !== 201) throw new Error(`storing the executable of ${name} failed: ${put.status} ${put.text}`);
  return put.text;
}
