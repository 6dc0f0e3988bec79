/**
 * The agent's HTTP server on Node's own `http`: guards (Host, token), routing, path parameter
 * checks, and the mapping of every refusal to a status with a one-line plain-text body.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

import { HEADERS, ROUTES } from '../api/contract';
import { checkFullyQualifiedName, checkVersion } from '../manifest/names';
import { ClientGoneError } from './http/body';
import { ConnectionGuard, DEFAULT_CONNECTION_LIMITS, serverTimeouts, type ConnectionLimits } from './http/connections';
import {
  CORS_ALLOW_HEADERS,
  CORS_ALLOW_METHODS,
  CORS_EXPOSE_HEADERS,
  CORS_MAX_AGE_S,
  FailedTokenThrottle,
  hostHeaderCount,
  isBearerGuess,
  makeHostCheck,
  makeOriginCheck,
  makeTokenCheck,
} from './http/guards';
import { logsDebug } from './http/log';
import { HttpError, TEXT, sendEmpty, sendError, type Headers } from './http/respond';
import { Router, handlerFor, type RequestContext, type Route } from './http/router';
import type { AgentContext } from './routes/context';
import { listExtensions, ping, runningJobs, status } from './routes/monitorRoutes';
import { runJob } from './routes/runRoute';
import * as storage from './routes/storageRoutes';
import { getFiles, putFiles } from './routes/filesRoutes';
import { ContentGoneError, IntegrityError } from './storage';

export interface ServerGuards {
  listenHost: string;
  allowHosts: readonly string[];
  /** Origins whose web pages may use the agent (CORS); none by default. */
  allowOrigins?: readonly string[];
  token: string | undefined;
  connections?: Partial<ConnectionLimits>;
}

const PING_PATH = ROUTES.ping;
const RUN_PATTERN = ROUTES.run;

export function agentRoutes(agent: AgentContext): Route[] {
  const bind =
    <T>(handler: (agent: AgentContext, ctx: RequestContext) => T) =>
    (ctx: RequestContext): T =>
      handler(agent, ctx);
  return [
    { pattern: PING_PATH, handlers: { GET: ping } },
    { pattern: ROUTES.status, handlers: { GET: bind(status) } },
    { pattern: ROUTES.runningJobs, handlers: { GET: bind(runningJobs) } },
    { pattern: RUN_PATTERN, handlers: { POST: bind(runJob) }, versionQuery: true },
    { pattern: ROUTES.manifests, handlers: { GET: bind(storage.listManifests), POST: bind(storage.storeManifest) } },
    {
      pattern: ROUTES.manifest,
      handlers: { GET: bind(storage.getManifest), DELETE: bind(storage.deleteManifest) },
      versionQuery: true,
    },
    { pattern: ROUTES.executables, handlers: { GET: bind(storage.listExecutables) } },
    {
      pattern: ROUTES.executable,
      handlers: {
        GET: bind(storage.getExecutable),
        PUT: bind(storage.putExecutable),
        DELETE: bind(storage.deleteExecutable),
      },
    },
    { pattern: ROUTES.files, handlers: { GET: bind(getFiles), PUT: bind(putFiles) } },
    { pattern: ROUTES.extensions, handlers: { GET: bind(listExtensions) } },
  ];
}

export function createAgentServer(agent: AgentContext, guards: ServerGuards): Server {
  const router = new Router(agentRoutes(agent));
  const hostAccepted = makeHostCheck(guards.listenHost, guards.allowHosts);
  const originCheck = makeOriginCheck(guards.allowOrigins ?? []);
  const tokenAccepted = guards.token === undefined ? undefined : makeTokenCheck(guards.token);
  const throttle = new FailedTokenThrottle();

  /** A wrong token is answered 401, later and later once an address keeps sending wrong ones. */
  const refuseToken = async (req: IncomingMessage): Promise<never> => {
    if (!isBearerGuess(req.headers.authorization)) throw tokenRefused(req.headers.authorization);
    const address = req.socket.remoteAddress ?? '';
    const delayMs = throttle.failed(address);
    if (throttle.startsSlowing(address)) agent.log('warn', 'repeated wrong tokens: answers to this address are slowed down', { address });
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    throw tokenRefused(req.headers.authorization);
  };

  const dispatch = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { pathname, query, authority } = splitUrl(req.url ?? '/');
    const method = req.method ?? 'GET';
    if (hostHeaderCount(req.rawHeaders) > 1) throw new HttpError(400, 'the request has more than one Host header; send exactly one');
    const isPing = pathname === PING_PATH && (method === 'GET' || method === 'HEAD');
    // A load balancer's health check (haproxy's `option httpchk GET /monitor/ping`) is HTTP/1.0
    // without a Host header. Browsers always send one, so answering it opens nothing to DNS
    // rebinding; HTTP/1.1 requires Host, so a 1.1 request without one is still refused.
    const healthCheck = isPing && req.httpVersion === '1.0' && req.headers.host === undefined && authority === undefined;
    if (!healthCheck && !hostAccepted(req.headers.host)) throw hostRefused(req.headers.host, guards.listenHost);
    if (authority !== undefined && !hostAccepted(authority)) throw hostRefused(authority, guards.listenHost);
    const origin = originCheck(req.headers.origin, firstValue(req.headers['sec-fetch-site']));
    if (!origin.allowed) throw new HttpError(403, origin.reason);
    if (origin.corsOrigin !== undefined) {
      allowCors(res, origin.corsOrigin);
      // A preflight carries no token: it asks whether the real request may be sent.
      if (method === 'OPTIONS') return answerPreflight(res);
    }
    if (tokenAccepted && !isPing && !tokenAccepted(req.headers.authorization)) await refuseToken(req);
    const match = router.match(pathname);
    if (!match) throw new HttpError(404, `there is no route ${pathname}; see the agent API for its routes (e.g. GET /v1/storage/manifests)`);
    const chosen = handlerFor(match.route, method);
    if (!chosen) {
      throw new HttpError(405, `${method} is not allowed on ${pathname}; use ${match.allow}`, { allow: match.allow });
    }
    const ctx: RequestContext = {
      req,
      res,
      head: chosen.head,
      name: match.rawName === undefined ? '' : checkedName(match.rawName),
      version: checkedVersion(match.rawVersion, query === undefined || !match.route.versionQuery ? undefined : versionParam(query)),
      alone,
    };
    await chosen.handler(ctx);
  };

  /** "Every outcome carries Serval-Job-Id and Serval-Duration-Ms": refusals of a run included. */
  const jobHeadersFor = (req: IncomingMessage, startedAtMs: number): Headers | undefined => {
    if (req.method !== 'POST' || router.match(splitUrl(req.url ?? '/').pathname)?.route.pattern !== RUN_PATTERN) return undefined;
    return { [HEADERS.jobId]: randomUUID(), [HEADERS.durationMs]: String(Date.now() - startedAtMs) };
  };

  /** Requests being served now (read, run or answered): a run alone may wait for its job in place. */
  let inFlight = 0;
  const alone = (): boolean => inFlight === 1;
  // Debug level: a busy agent must not pay for a log line per job unless asked to.
  const logRequests = logsDebug(agent.log);

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const startedAt = Date.now();
    inFlight++;
    res.on('close', () => {
      inFlight--;
      if (!logRequests) return;
      agent.log('debug', 'request', {
        method: req.method,
        path: req.url,
        status: res.writableFinished ? res.statusCode : 'client closed',
        ms: Date.now() - startedAt,
      });
    });
    if (connections.isLingering(req)) {
      // A request that follows an early refusal on a closing connection: dropped unanswered.
      req.resume();
      return;
    }
    connections.watch(req, res);
    dispatch(req, res).catch((error: unknown) => {
      // Refused before the body was read: the client may still be sending it.
      if (!res.headersSent) connections.lingerAfter(req, res);
      answerError(agent, req, res, error, jobHeadersFor(req, startedAt));
    });
  };

  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...guards.connections };
  // Host is checked by the guard above, which answers a request without one with a 403 that says why.
  const server = createServer({ requireHostHeader: false, ...serverTimeouts(limits) }, onRequest);
  const connections = new ConnectionGuard(server, limits, agent.log);
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => onRequest(req, continueWhenRead(req, res)));
  server.on('clientError', answerMalformed);
  return server;
}

/** CORS for an allowed origin: its pages may read the answers and the API's headers. */
function allowCors(res: ServerResponse, origin: string): void {
  res.setHeader('access-control-allow-origin', origin);
  res.setHeader('access-control-expose-headers', CORS_EXPOSE_HEADERS);
  res.setHeader('vary', 'Origin');
}

function answerPreflight(res: ServerResponse): void {
  sendEmpty(res, 204, {
    'access-control-allow-methods': CORS_ALLOW_METHODS,
    'access-control-allow-headers': CORS_ALLOW_HEADERS,
    // Chrome's Private Network Access: a page may reach the agent on this machine only if it says so.
    'access-control-allow-private-network': 'true',
    'access-control-max-age': String(CORS_MAX_AGE_S),
  });
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * `Expect: 100-continue`: the client waits for `100 Continue` before it sends the body. It gets
 * one only when a handler starts reading the body, so a refusal known before (401, 403, 404 no
 * manifest, 413 by Content-Length) spares it the upload. Such a refusal closes the connection:
 * the client may or may not send the body anyway, and the next request cannot be told from it.
 */
function continueWhenRead(req: IncomingMessage, res: ServerResponse): ServerResponse {
  res.setHeader('connection', 'close');
  req.once('resume', () => {
    if (res.headersSent) return;
    res.removeHeader('connection');
    res.writeContinue();
  });
  return res;
}

/**
 * A request Node could not parse (bad syntax, headers too large) gets a one-line plain-text body
 * like every other refusal, instead of Node's empty default.
 */
function answerMalformed(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'the request headers are larger than this agent accepts; send shorter headers']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'the request did not arrive in time; send it at once']
        : [400, 'Bad Request', `the request is not valid HTTP/1.1 (${error.code ?? error.message}); check the client that sent it`];
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: ${TEXT}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function answerError(
  agent: AgentContext,
  req: IncomingMessage,
  res: ServerResponse,
  error: unknown,
  extraHeaders: Headers = {},
): void {
  if (error instanceof ClientGoneError || res.headersSent || res.destroyed) {
    // Nobody to answer, or a response already under way that can no longer change its status.
    if (!res.writableFinished) res.destroy();
    return;
  }
  if (error instanceof HttpError) return sendError(res, error.status, error.message, { ...extraHeaders, ...error.headers });
  if (error instanceof IntegrityError) return sendError(res, 500, `${error.message}; it was not served or run`, extraHeaders);
  if (error instanceof ContentGoneError) return sendError(res, 404, error.message, extraHeaders);
  agent.log('error', 'request failed', { method: req.method, path: req.url, error: errorText(error) });
  sendError(res, 500, `the agent failed on this request (${errorText(error)}); see the agent log`, extraHeaders);
}

/**
 * The path, raw query and (absolute-form only) authority of a request target. Clients build URLs
 * by joining a base URL and a path, so repeated slashes are one and a trailing slash is dropped:
 * `http://host:8100/` + `/v1/storage/manifests/` still names the list route.
 */
export function splitUrl(url: string): { pathname: string; query: string | undefined; authority?: string } {
  let target = url;
  let authority: string | undefined;
  // Checked only off the usual path: these run on every request, hot job runs included.
  const absolute = target.startsWith('/') ? null : /^https?:\/\/([^/?#]*)/i.exec(target);
  if (absolute) {
    // RFC 9112 §3.2.2: a server must accept the absolute form (proxies send it).
    authority = absolute[1];
    target = target.slice(absolute[0].length) || '/';
  }
  const queryStart = target.indexOf('?');
  let pathname = queryStart < 0 ? target : target.slice(0, queryStart);
  if (pathname.includes('//')) pathname = pathname.replace(/\/{2,}/g, '/');
  if (pathname.length > 1 && pathname.endsWith('/')) pathname = pathname.slice(0, -1);
  return { pathname, query: queryStart < 0 ? undefined : target.slice(queryStart + 1), authority };
}

/**
 * `?version=`, percent-decoded but with `+` kept as `+`: a version may hold a `+` (semver build
 * metadata) and never a space, so reading `+` as a space (form encoding) could only break it.
 */
export function versionParam(query: string): string | undefined {
  for (const pair of query.split('&')) {
    const equals = pair.indexOf('=');
    const key = equals < 0 ? pair : pair.slice(0, equals);
    if (key !== 'version') continue;
    const raw = equals < 0 ? '' : pair.slice(equals + 1);
    try {
      return decodeURIComponent(raw);
    } catch {
      throw new HttpError(400, '?version= is not valid percent-encoding; send the version as plain ASCII');
    }
  }
  return undefined;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Names in paths that passed their check, so a hot job's name is not checked again on every run. */
const acceptedNames = new Map<string, string>();
const ACCEPTED_NAMES_KEPT = 1024;

function checkedName(raw: string): string {
  const kept = acceptedNames.get(raw);
  if (kept !== undefined) return kept;
  const name = checkedParam(raw, 'name', checkFullyQualifiedName);
  if (acceptedNames.size >= ACCEPTED_NAMES_KEPT) acceptedNames.clear();
  acceptedNames.set(raw, name);
  return name;
}

function checkedParam(raw: string, what: string, check: (value: string) => string | undefined): string {
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, `the ${what} in the path is not valid percent-encoding; send it as plain ASCII`);
  }
  const problem = check(value);
  if (problem !== undefined) throw new HttpError(400, problem);
  return value;
}

function checkedVersion(pathVersion: string | undefined, queryVersion: string | undefined): string | undefined {
  if (pathVersion !== undefined) return checkedParam(pathVersion, 'version', checkVersion);
  if (queryVersion === undefined) return undefined;
  const problem = checkVersion(queryVersion);
  if (problem !== undefined) throw new HttpError(400, `?version=: ${problem}`);
  return queryVersion;
}

function hostRefused(host: string | undefined, listenHost: string): HttpError {
  const shown = host === undefined ? 'a request without a Host header' : `Host '${host.slice(0, 100)}'`;
  return new HttpError(
    403,
    `${shown} is not accepted by this agent; address it as ${listenHost} or localhost, or start it with --allow-host NAME`,
  );
}

function tokenRefused(authorization: string | undefined): HttpError {
  const problem = authorization === undefined ? 'this agent needs a token' : 'the token was refused';
  return new HttpError(401, `${problem}; send the agent's token as 'Authorization: Bearer <token>'`, {
    'www-authenticate': 'Bearer realm="serval"',
  });
}
