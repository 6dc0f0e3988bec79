/** The Serval agent: storage + job runner + HTTP server, in one call. No vscode here. */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

import { version as packageVersion } from '../../package.json';
import { stderrLog } from './http/log';
import type { AgentContext } from './routes/context';
import { UploadChecks } from './checks/uploadChecks';
import { JobBook } from './routes/jobBook';
import { ComponentCache, DiskTranspileStore } from './runner/component/cache';
import { loadExtensions } from './runner/extensions';
import { JobRunner } from './runner/pool';
import { createAgentServer } from './server';
import { LocalJobStore, openJobStore } from './storage';
import type { AgentOptions, RunningAgent } from './types';

export type { AgentOptions, RunningAgent, AgentLog, LogLevel } from './types';
export { stderrLog } from './http/log';
export { ContentGoneError, IntegrityError, openJobStore, type JobStore } from './storage';

const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_MAX_MANIFEST_BYTES = 1024 * 1024;
/** Transpiled components, next to the store and apart from its own files. */
const COMPONENT_CACHE_FOLDER = 'transpiled-components';
/** How long close() lets aborted jobs send their 503 before it cuts the remaining connections. */
const CLOSE_GRACE_MS = 2_000;

/** Opens the store, starts the runner and listens; resolves once listening, with the real port. */
export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const log = options.log ?? stderrLog();
  const host = options.host || DEFAULT_HOST;
  // Loaded first: a broken extension stops the agent before it holds its store.
  const extensions = options.extensionsDir ? await loadExtensions(options.extensionsDir, options.limits.memoryBytes) : new Map();
  if (options.extensionsDir) log('info', 'extensions loaded', { dir: options.extensionsDir, names: [...extensions.keys()] });
  const storage = await openJobStore(options.storageDir, log, options.objectStore);
  const components = new ComponentCache({
    store: new DiskTranspileStore(options.componentCacheDir ?? path.join(options.storageDir, COMPONENT_CACHE_FOLDER)),
    onStoreProblem: (message, error) => log('warn', message, { error: String(error) }),
  });
  const runner = new JobRunner({
    limits: options.limits,
    workers: options.workers,
    maxQueuedJobs: options.maxQueuedJobs,
    maxQueuedInputBytes: options.maxQueuedInputBytes,
    moduleCacheBytes: options.moduleCacheBytes,
    mainThreadRuns: options.mainThreadRuns,
    components,
  });
  const agent: AgentContext = {
    storage,
    runner,
    jobs: new JobBook(),
    log,
    maxBodyBytes: options.maxBodyBytes,
    jobMemoryBytes: options.limits.memoryBytes,
    extensions,
    maxManifestBytes: Math.min(options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES, options.maxBodyBytes),
    checks: new UploadChecks(log),
    instanceId: randomUUID(),
    version: packageVersion,
    startedAtMs: Date.now(),
    closing: false,
  };
  const server = createAgentServer(agent, {
    listenHost: host,
    allowHosts: options.allowHosts,
    allowOrigins: options.allowOrigins,
    token: options.token,
    connections: options.connections,
  });
  try {
    await listen(server, host, options.port);
  } catch (error) {
    await runner.close();
    await storage.close();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  // Windows and tools looking for the agent of this folder find it (and its token) in its lock file.
  if (storage instanceof LocalJobStore) {
    await storage.advertise(url, options.token).catch((error: unknown) => {
      log('warn', 'could not write the URL of this agent into the lock file of its storage folder; other windows will not find it', {
        error: String(error),
      });
    });
  }
  log('info', 'agent listening', { url, storage: storage.location, auth: options.token !== undefined });
  return { url, host, port, queuedJobs: () => runner.queued, mainThreadRuns: () => runner.mainThreadRuns, close: closeOnce(() => closeAgent(agent, server)) };
}

async function listen(server: Server, host: string, port: number): Promise<void> {
  server.listen(port, host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);
}

/** Stops accepting, aborts running jobs (their clients get 503), then closes the runner. */
async function closeAgent(agent: AgentContext, server: Server): Promise<void> {
  agent.closing = true;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  agent.jobs.abortAll();
  server.closeIdleConnections();
  const grace = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
  try {
    await closed;
  } finally {
    clearTimeout(grace);
  }
  await Promise.all([agent.runner.close(), agent.checks.close()]);
  await agent.storage.close();
  agent.log('info', 'agent stopped', { served: agent.jobs.counts().total });
}

function closeOnce(close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => (closing ??= close());
}
