import type { ConnectionLimits } from './http/connections';
import type { JobLimits } from './runner/types';
import type { ObjectStoreOptions } from './storage';

export interface AgentOptions {
  /** Default 127.0.0.1 */
  host: string;
  /** 0 = any free port */
  port: number;
  /** A folder, or `s3://BUCKET[/PREFIX]` for an object store shared by many agents. */
  storageDir: string;
  /** For an `s3://` store: endpoint, this agent's cache folder, the environment with the AWS variables. */
  objectStore?: ObjectStoreOptions;
  /** When set, every request but GET /monitor/ping needs `Authorization: Bearer <token>`. */
  token?: string;
  /** Extra Host header names accepted besides the listen address and localhost. */
  allowHosts: string[];
  limits: JobLimits;
  /** Largest request body accepted (manifest, executable, job input). */
  maxBodyBytes: number;
  /** Largest manifest accepted; default 1 MiB (and never more than maxBodyBytes). */
  maxManifestBytes?: number;
  /** Origins whose web pages may use the agent; none by default (every page is refused 403). */
  allowOrigins?: string[];
  /** Open connections at most, and the connection timeouts (tests shorten them). */
  connections?: Partial<ConnectionLimits>;
  /** Jobs waiting for a worker before runs are answered 503; default 100. */
  maxQueuedJobs?: number;
  /** Bytes of input held by waiting jobs before runs are answered 503; default 256 MiB. */
  maxQueuedInputBytes?: number;
  /** Bytes of compiled modules kept for the next runs; default 256 MiB. */
  moduleCacheBytes?: number;
  /** Jobs that proved quick may run on the agent's own thread (runner/mainThread.ts); default true. */
  mainThreadRuns?: boolean;
  /** Worker threads running jobs; default: number of CPUs. */
  workers?: number;
  /** A folder whose `*.wasm` files are extensions jobs may link (named by file stem); default none. */
  extensionsDir?: string;
  /** Where transpiled components are kept across restarts; default: a folder in the store's directory. */
  componentCacheDir?: string;
  /** Structured log sink; default: JSON lines on stderr. */
  log?: AgentLog;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type AgentLog = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

export interface RunningAgent {
  /** e.g. http://127.0.0.1:41234 (the real port) */
  url: string;
  host: string;
  port: number;
  /** Runs waiting for a free worker now (GET /monitor/status keeps the original's fields only). */
  queuedJobs(): number;
  /** Runs answered from the agent's own thread so far, without a worker (runner/mainThread.ts). */
  mainThreadRuns(): number;
  close(): Promise<void>;
}
