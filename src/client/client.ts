/**
 * Typed client of the agent API (docs/agent-api.md), over Node's own http with keep-alive (./transport).
 *
 * - Every call takes an AbortSignal; a cancelled call rejects with an error for which
 *   `isCancellation(error)` is true, so callers can drop it silently.
 * - Every failure is one of the typed errors of ./errors, with a one-line message fit for users.
 * - Running a job never throws for what the job did: exit codes, traps and both limits (output, and
 *   time, which the agent answers with 504) come back as a RunResult. `run` throws only when the job
 *   could not be run at all (no such job or version, input too large, not runnable, agent unreachable).
 *   Callers thus handle every job outcome in one place, and `result.limit === 'time'` marks a timeout.
 */
import {
  AgentClientError,
  AgentHttpError,
  IntegrityMismatchError,
  UnsupportedByAgentError,
  errorForStatus,
} from './errors';
import { sriOf } from './integrity';
import { normaliseManifestNames } from './manifestNames';
import { FILES_CONTENT_TYPE, HEADERS, PATHS, ROUTES, type ExtensionInfo, type AgentStatus, type ExecutableInfo, type JobLimit, type RunningJob } from '../api/contract';
import { type AnswerHeaders, type HttpAnswer, HttpTransport } from './transport';
import type { RunResult } from './types';

export interface AgentClientOptions {
  /** The agent's base URL, e.g. `http://127.0.0.1:8100`. */
  url: string;
  /** Sent as `Authorization: Bearer <token>` when set. */
  token?: string;
  /**
   * Default timeout of each call in milliseconds; none when undefined. It does not apply to `run`,
   * whose duration the agent bounds with its own job time limit; pass `timeoutMs` to `run` to bound it.
   */
  timeoutMs?: number;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Overrides the client's default timeout for this call; 0 means none. */
  timeoutMs?: number;
}

export interface VersionOptions extends CallOptions {
  /** A stored version; default: the job's default version (the one whose manifest and executable were both stored last). */
  version?: string;
}

export interface RunOptions extends VersionOptions {
  /** Arguments after argv[0] (which is the job's name); when given, they replace the manifest's `args`. */
  args?: readonly string[];
  /** Environment entries over the manifest's `[env]`: `{ KEY: 'value' }` or `['KEY=value']`, in order. */
  env?: Readonly<Record<string, string>> | readonly string[];
}

export interface PutExecutableOptions extends CallOptions {
  /** SRI integrity of `bytes` if the caller already has it; computed here otherwise. */
  integrity?: string;
}

/** What the agent answered, body read in full. */
type Answer = HttpAnswer;

interface Exchange {
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';
  body?: Uint8Array;
  headers?: Record<string, string>;
  call?: CallOptions;
  /** For `run`: ignore the client's default timeout. */
  noDefaultTimeout?: boolean;
}

const decoder = new TextDecoder();

export class AgentClient {
  /** The base URL without a trailing slash, as shown in messages. */
  readonly url: string;
  private readonly token: string | undefined;
  private readonly defaultTimeoutMs: number | undefined;
  private readonly transport: HttpTransport;

  constructor(options: AgentClientOptions) {
    this.url = checkedBaseUrl(options.url);
    this.transport = new HttpTransport(this.url);
    this.token = options.token || undefined;
    this.defaultTimeoutMs = options.timeoutMs;
  }

  /** Resolves when the agent answers `pong`. */
  async ping(call?: CallOptions): Promise<void> {
    const answer = await this.expect(200, ROUTES.ping, { call });
    const text = decoder.decode(answer.body).trim();
    if (text !== 'pong') {
      throw new AgentClientError(`${this.url} answered the ping with "${text.slice(0, 80)}", not "pong": is it a Serval agent?`);
    }
  }

  async status(call?: CallOptions): Promise<AgentStatus> {
    return jsonOf<AgentStatus>(await this.expect(200, ROUTES.status, { call }));
  }

  /** The agent's extensions (`serval agent --extensions`); an agent older than them has none. */
  async listExtensions(call?: CallOptions): Promise<ExtensionInfo[]> {
    const answer = await this.request(ROUTES.extensions, { call });
    if (answer.status === 404) return [];
    this.ensureStatus(answer, 200);
    return jsonOf<ExtensionInfo[]>(answer);
  }

  async listJobs(call?: CallOptions): Promise<RunningJob[]> {
    return jsonOf<RunningJob[]>(await this.expect(200, ROUTES.runningJobs, { call }));
  }

  /** Sorted, unique fully-qualified names; accepts the original agent's raw storage keys too. */
  async listManifests(call?: CallOptions): Promise<string[]> {
    const entries = jsonOf<unknown>(await this.expect(200, ROUTES.manifests, { call }));
    if (!Array.isArray(entries) || !entries.every((entry) => typeof entry === 'string')) {
      throw new AgentClientError(`${this.url} listed its manifests in an unknown form: is it a Serval agent?`);
    }
    return normaliseManifestNames(entries);
  }

  /** The manifest text exactly as it was stored. */
  async getManifest(name: string, options?: VersionOptions): Promise<string> {
    const path = PATHS.manifest(name) + versionQuery(options?.version);
    return decoder.decode((await this.expect(200, path, { call: options })).body);
  }

  async hasManifest(name: string, call?: CallOptions): Promise<boolean> {
    const answer = await this.request(PATHS.manifest(name), { method: 'HEAD', call });
    if (answer.status === 404) return false;
    this.ensureStatus(answer, 200);
    return true;
  }

  /** Stores a manifest (TOML text); resolves to the SRI integrity of the stored text. */
  async storeManifest(text: string, call?: CallOptions): Promise<string> {
    const body = new TextEncoder().encode(text);
    const headers = { 'content-type': 'application/toml' };
    const answer = await this.expect(201, ROUTES.manifests, { method: 'POST', body, headers, call });
    return decoder.decode(answer.body).trim();
  }

  /** Deletes a manifest and all its executables. */
  async deleteManifest(name: string, call?: CallOptions): Promise<void> {
    await this.expect(204, PATHS.manifest(name), { method: 'DELETE', call });
  }

  /** Stored versions, newest first. Throws UnsupportedByAgentError on agents that predate this route. */
  async listExecutables(name: string, call?: CallOptions): Promise<ExecutableInfo[]> {
    const answer = await this.request(PATHS.executables(name), { call });
    if (answer.status === 200) return jsonOf<ExecutableInfo[]>(answer);
    if (answer.status === 404 && !(await this.hasManifest(name, call))) throw this.errorOf(answer);
    if (answer.status === 404 || answer.status === 405 || answer.status === 501) {
      throw new UnsupportedByAgentError(
        `the agent at ${this.url} cannot list the versions of a job (it predates that route): upgrade it, or name the version yourself`,
      );
    }
    throw this.errorOf(answer);
  }

  /**
   * Uploads the `.wasm` of one version. Sends `Serval-Integrity` so that the agent refuses bytes that
   * were damaged on the way, and checks the integrity it answers. Resolves to that integrity.
   */
  async putExecutable(name: string, version: string, bytes: Uint8Array, options?: PutExecutableOptions): Promise<string> {
    const integrity = options?.integrity ?? sriOf(bytes);
    const headers = { 'content-type': 'application/wasm', [HEADERS.integrity]: integrity };
    const answer = await this.expect(201, PATHS.executable(name, version), { method: 'PUT', body: bytes, headers, call: options });
    const stored = decoder.decode(answer.body).trim();
    if (stored !== integrity) throw new IntegrityMismatchError(integrity, stored);
    return stored;
  }

  /**
   * Uploads the files archive of one version (a tar, e.g. from packFilesFolder) and checks the
   * integrity the agent answers. Resolves to that integrity.
   */
  async putFiles(name: string, version: string, archive: Uint8Array, call?: CallOptions): Promise<string> {
    const headers = { 'content-type': FILES_CONTENT_TYPE };
    const answer = await this.expect(201, PATHS.files(name, version), { method: 'PUT', body: archive, headers, call });
    const stored = decoder.decode(answer.body).trim();
    const integrity = sriOf(archive);
    if (stored !== integrity) throw new IntegrityMismatchError(integrity, stored);
    return stored;
  }

  /** The `.wasm` bytes of one version, checked against the `Serval-Integrity` the agent sends. */
  async getExecutable(name: string, version: string, call?: CallOptions): Promise<Uint8Array> {
    const answer = await this.expect(200, PATHS.executable(name, version), { call });
    const announced = answer.headers.get(HEADERS.integrity);
    if (announced !== null) {
      const actual = sriOf(answer.body);
      if (actual !== announced) throw new IntegrityMismatchError(announced, actual);
    }
    return answer.body;
  }

  async deleteExecutable(name: string, version: string, call?: CallOptions): Promise<void> {
    await this.expect(204, PATHS.executable(name, version), { method: 'DELETE', call });
  }

  /**
   * Runs a job with `input` as its stdin. Every outcome of the job, time limit included, is a
   * RunResult (see the file comment); errors mean the job could not be run.
   */
  async run(name: string, input: Uint8Array | string, options?: RunOptions): Promise<RunResult> {
    const body = typeof input === 'string' ? new TextEncoder().encode(input) : input;
    const path = PATHS.run(name) + runQuery(options);
    const headers = { 'content-type': 'application/octet-stream' };
    const answer = await this.request(path, { method: 'POST', body, headers, call: options, noDefaultTimeout: true });
    if (answer.status === 200 || isJobTimeout(answer)) return runResultOf(answer);
    throw this.errorOf(answer);
  }

  private async expect(status: number, path: string, init: Exchange): Promise<Answer> {
    const answer = await this.request(path, init);
    this.ensureStatus(answer, status);
    return answer;
  }

  private ensureStatus(answer: Answer, expected: number): void {
    if (answer.status !== expected) throw this.errorOf(answer);
  }

  private errorOf(answer: Answer): AgentHttpError {
    return errorForStatus(answer.status, decoder.decode(answer.body));
  }

  /** One HTTP exchange, body read in full; transport failures come out typed (see ./transport). */
  private request(path: string, init: Exchange): Promise<Answer> {
    const timeoutMs = init.call?.timeoutMs ?? (init.noDefaultTimeout ? undefined : this.defaultTimeoutMs);
    return this.transport.send(path, {
      method: init.method ?? 'GET',
      headers: this.headersWith(init.headers),
      body: init.body,
      signal: init.call?.signal,
      timeoutMs,
    });
  }

  private headersWith(extra: Record<string, string> | undefined): Record<string, string> {
    const headers: Record<string, string> = { ...extra };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    return headers;
  }
}

function checkedBaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AgentClientError(`"${url}" is not an agent URL: give one like http://127.0.0.1:8100`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new AgentClientError(`"${url}" is not an agent URL: it must start with http:// or https://`);
  }
  return parsed.href.replace(/\/+$/, '');
}

/** `?version=V&arg=A&env=K%3DV`: every value percent-encoded UTF-8, in the order given. */
function runQuery(options: RunOptions | undefined): string {
  const env = options?.env === undefined ? [] : Array.isArray(options.env) ? options.env : Object.entries(options.env).map(([k, v]) => `${k}=${v}`);
  const pairs = [
    ...(options?.version === undefined ? [] : [`version=${encodeURIComponent(options.version)}`]),
    ...(options?.args ?? []).map((arg) => `arg=${encodeURIComponent(arg)}`),
    ...env.map((entry) => `env=${encodeURIComponent(entry as string)}`),
  ];
  return pairs.length === 0 ? '' : `?${pairs.join('&')}`;
}

function versionQuery(version: string | undefined): string {
  return version === undefined ? '' : `?version=${encodeURIComponent(version)}`;
}

function jsonOf<T>(answer: Answer): T {
  try {
    return JSON.parse(decoder.decode(answer.body)) as T;
  } catch {
    throw new AgentClientError('the agent answered with JSON that does not parse: is it a Serval agent?');
  }
}

/**
 * The agent's 504 for a job past its time limit carries Serval-* headers; a bare 504 comes from a
 * proxy in front of the agent and stays an error.
 */
function isJobTimeout(answer: Answer): boolean {
  return answer.status === 504 && (answer.headers.has(HEADERS.limit) || answer.headers.has(HEADERS.jobId));
}

function runResultOf(answer: Answer): RunResult {
  const { headers } = answer;
  const result: RunResult = { exitCode: integerHeader(headers, HEADERS.exitCode), output: answer.body };
  const trap = headers.get(HEADERS.trap);
  const limit = answer.status === 504 ? 'time' : limitOf(headers.get(HEADERS.limit));
  const jobId = headers.get(HEADERS.jobId);
  const durationMs = integerHeader(headers, HEADERS.durationMs);
  if (trap !== null) result.trap = trap;
  if (limit !== undefined) result.limit = limit;
  if (jobId !== null) result.jobId = jobId;
  if (durationMs !== undefined) result.durationMs = durationMs;
  return result;
}

function limitOf(value: string | null): JobLimit | undefined {
  return value === 'time' || value === 'output' ? value : undefined;
}

function integerHeader(headers: AnswerHeaders, name: string): number | undefined {
  const value = headers.get(name);
  if (value === null || !/^-?\d+(\.\d+)?$/.test(value.trim())) return undefined;
  return Math.round(Number(value));
}
