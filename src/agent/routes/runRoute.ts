/**
 * POST /v1/jobs/:name/run: the hot path. Everything it needs before the runner (the executable's
 * integrity) comes from memory; the bytes are read from disk only when the runner has not compiled
 * them yet, and verified then.
 */
import { HEADERS } from '../../api/contract';
import type { ServerResponse } from 'node:http';

import { QueueFullError, QueueTimeoutError } from '../runner/overload';
import { LARGE_STDIN_BYTES } from '../runner/jobChannel';
import type { JobOutcome } from '../runner/types';
import { readBody } from '../http/body';
import { HttpError, OCTETS, TEXT, headerSafe } from '../http/respond';
import type { RequestContext } from '../http/router';
import { ContentGoneError, IntegrityError } from '../storage';
import type { AgentContext } from './context';
import type { JobTicket } from './jobBook';
import { filesImage } from '../files/filesImages';
import { filesLimits } from './filesRoutes';
import { runArgv, runParameters } from './runInputs';
import { type VersionSetup, versionSetup } from './runSetup';
import { requireExecutable } from './storageRoutes';

interface JobResponse {
  status: number;
  contentType: string;
  body: Uint8Array;
  /** Header names and values in turn, as Node's writeHead takes them (no object to build per job). */
  headers: string[];
  failed: boolean;
}

export async function runJob(agent: AgentContext, { req, res, name, version, alone }: RequestContext): Promise<void> {
  // No manifest: no default version either, and requireExecutable says the manifest is missing.
  const chosenVersion = version ?? (await agent.storage.defaultVersion(name)) ?? '';
  const info = await requireExecutable(agent, name, chosenVersion);
  // A full queue refuses before the input is read: an overloaded agent answers at once.
  refuseWhenFull(agent, Number(req.headers['content-length'] ?? 0) || 0);
  // Refused before the input is read: a bad query needs no upload.
  const parameters = runParameters(queryOf(req.url));
  // A large input goes straight into shared memory, where the job's worker reads it in place.
  const stdin = await readBody(req, agent.maxBodyBytes, 'job input', { sharedFrom: LARGE_STDIN_BYTES });
  const setup = await versionSetup(agent, name, chosenVersion);
  const { args, env } = parameters.args === undefined && parameters.env.length === 0 ? defaultArgv(name, setup) : runArgv(name, parameters, setup);
  const files = await filesImage(agent.storage, name, chosenVersion, filesLimits(agent));

  const ticket = agent.jobs.start(name, chosenVersion);
  res.on('close', () => {
    // 'close' also fires after a complete response; only an early one means the client left.
    if (!res.writableFinished) ticket.cancel();
  });

  let integrityFailed = false;
  const loadBytes = (): Promise<Uint8Array> =>
    agent.storage.readExecutable(name, info).catch((error: unknown) => {
      integrityFailed = error instanceof IntegrityError;
      throw error;
    });

  let response: JobResponse | undefined;
  try {
    const extensions = { declared: setup.requiredExtensions, available: agent.extensions };
    const outcome = await agent.runner.run({ key: info.integrity, loadBytes, stdin, args, env, files, extensions, cancellation: ticket, callerIdle: alone() });
    response = integrityFailed ? integrityResponse(name, chosenVersion) : outcomeResponse(outcome);
  } catch (error) {
    response = failureResponse(agent, ticket, error, integrityFailed, name, chosenVersion);
  } finally {
    agent.jobs.finish(ticket, response?.failed ?? true);
  }
  if (response) sendJobResponse(res, ticket, response);
}

function queryOf(url: string | undefined): string | undefined {
  const at = url?.indexOf('?') ?? -1;
  return at < 0 ? undefined : url!.slice(at + 1);
}

/** argv and environment of a run that gives no `arg` or `env`: the same for every such run, so made once. */
const defaultArgvs = new WeakMap<VersionSetup, Map<string, { args: string[]; env: string[] }>>();
const NO_PARAMETERS = { args: undefined, env: [] };

function defaultArgv(name: string, setup: VersionSetup): { args: string[]; env: string[] } {
  let byName = defaultArgvs.get(setup);
  if (!byName) defaultArgvs.set(setup, (byName = new Map()));
  let argv = byName.get(name);
  if (!argv) byName.set(name, (argv = runArgv(name, NO_PARAMETERS, setup)));
  return argv;
}

/**
 * Every outcome carries the job's id and duration (measured here when the runner gave none).
 * One writeHead with the headers in a list, then the body: Node writes both in one writev.
 */
function sendJobResponse(res: ServerResponse, ticket: JobTicket, response: JobResponse): void {
  if (res.destroyed) return;
  const { headers, body } = response;
  const measured = headers[0] === HEADERS.durationMs ? [] : [HEADERS.durationMs, String(Date.now() - ticket.startedAtMs)];
  res.writeHead(response.status, ['content-type', response.contentType, 'content-length', String(body.byteLength), ...measured, ...headers, HEADERS.jobId, ticket.id]);
  res.end(body);
}

/** The "Running a job: outcomes" table of the API, row by row. */
export function outcomeResponse(outcome: JobOutcome): JobResponse {
  const duration = String(Math.round(outcome.durationMs));
  switch (outcome.kind) {
    case 'exited': {
      const headers = [HEADERS.durationMs, duration, HEADERS.exitCode, String(outcome.exitCode)];
      if (outcome.outputLimited) headers.push(HEADERS.limit, 'output');
      return {
        status: 200,
        contentType: OCTETS,
        body: outcome.exitCode === 0 ? outcome.stdout : outcome.stderr,
        headers,
        failed: outcome.exitCode !== 0 || outcome.outputLimited,
      };
    }
    case 'trapped':
      return {
        status: 200,
        contentType: OCTETS,
        body: withTrapLine(outcome.stderr, outcome.trap),
        headers: [HEADERS.durationMs, duration, HEADERS.trap, headerSafe(outcome.trap)],
        failed: true,
      };
    case 'timed-out':
      return textResponse(504, `job ran past its time limit of ${outcome.limitMs} ms`, [HEADERS.durationMs, duration, HEADERS.limit, 'time']);
    case 'not-runnable':
      return textResponse(422, `the stored executable cannot run as a job. ${outcome.message}`, [HEADERS.durationMs, duration]);
  }
}

function failureResponse(
  agent: AgentContext,
  ticket: JobTicket,
  error: unknown,
  integrityFailed: boolean,
  name: string,
  version: string,
): JobResponse | undefined {
  if (integrityFailed || error instanceof IntegrityError) return integrityResponse(name, version);
  if (ticket.cancelled) {
    // The client left (nobody to answer) or the agent is closing (say so, so it can retry).
    return agent.closing ? textResponse(503, 'the agent is shutting down; run the job again once it is back', []) : undefined;
  }
  if (error instanceof HttpError) throw error;
  if (error instanceof QueueFullError || error instanceof QueueTimeoutError) return overloadResponse(error);
  if (error instanceof ContentGoneError) {
    return textResponse(404, `the executable of '${name}' version '${version}' was deleted or replaced while the job was starting; run it again`, []);
  }
  agent.log('error', 'job failed in the runner', { name, version, job: ticket.id, error: String(error) });
  return textResponse(500, `the agent could not run the job (${String(error)}); see the agent log`, []);
}

function refuseWhenFull(agent: AgentContext, inputBytes: number): void {
  try {
    agent.runner.checkRoom?.(inputBytes);
  } catch (error) {
    if (!(error instanceof QueueFullError)) throw error;
    const refusal = overloadResponse(error);
    throw new HttpError(refusal.status, refusal.message, { 'retry-after': String(error.retryAfterS) });
  }
}

/** 503 with Retry-After: the job was not run, and running it again later is the remedy. */
function overloadResponse(error: QueueFullError | QueueTimeoutError): JobResponse & { message: string } {
  const headers = ['retry-after', String(error.retryAfterS)];
  const message =
    error instanceof QueueTimeoutError
      ? `${error.message}; the agent is overloaded: run it again later, or start the agent with a higher --job-timeout-ms`
      : error.why === 'jobs'
        ? 'every worker is busy and the job queue is full (--max-queued-jobs); the job was not run: run it again later'
        : 'every worker is busy and the queued jobs hold as much input as this agent allows (--max-queued-input-mb); the job was not run: run it again later';
  return { ...textResponse(503, message, headers), message };
}

function integrityResponse(name: string, version: string): JobResponse {
  return textResponse(500, `the stored executable of '${name}' version '${version}' failed its integrity check and was not run; upload it again`, []);
}

function textResponse(status: number, message: string, headers: string[]): JobResponse {
  return { status, contentType: TEXT, body: Buffer.from(`${message}\n`), headers, failed: true };
}

/** stderr, then one line naming the trap (on a line of its own even if stderr did not end one). */
function withTrapLine(stderr: Uint8Array, trap: string): Uint8Array {
  const separator = stderr.byteLength > 0 && stderr[stderr.byteLength - 1] !== 0x0a ? '\n' : '';
  return Buffer.concat([stderr, Buffer.from(`${separator}job trapped: ${trap.replace(/[\r\n]+/g, ' ')}\n`)]);
}
