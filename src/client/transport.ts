/**
 * The client's HTTP transport: one exchange over Node's own `http` (or `https`) with a keep-alive
 * connection pool, body read in full.
 *
 * Why not the global fetch: undici added 0.22–0.25 ms to every call against any server, and the
 * first call after an idle pause cost twice what a plain node:http request does (1.6–1.9 ms against
 * 0.7–0.9 ms) — that call is a click on Run. Node's Agent keeps idle sockets (unref'd, so a CLI
 * still exits), retires them just before the server's `Keep-Alive: timeout` closes them, and reuses
 * the most recent one first.
 *
 * Failures come out typed (./errors): cancellation, timeout, or nothing answering at the URL.
 */
import * as http from 'node:http';
import * as https from 'node:https';

import { AgentTimeoutError, AgentUnreachableError, CancellationError } from './errors';

/** The response headers, read like fetch's Headers (names are case-insensitive). */
export class AnswerHeaders {
  constructor(private readonly raw: http.IncomingHttpHeaders) {}

  get(name: string): string | null {
    const value = this.raw[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }

  has(name: string): boolean {
    return this.raw[name.toLowerCase()] !== undefined;
  }
}

export interface HttpAnswer {
  status: number;
  headers: AnswerHeaders;
  body: Uint8Array;
}

export interface HttpExchange {
  method: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  signal?: AbortSignal;
  /** Bounds the whole exchange, body included; none when undefined or 0. */
  timeoutMs?: number;
}

/** One pool per scheme for every client of the process: a client made per call still reuses sockets. */
const POOLS = {
  'http:': new http.Agent({ keepAlive: true, scheduling: 'lifo' }),
  'https:': new https.Agent({ keepAlive: true, scheduling: 'lifo' }),
};

/**
 * Errors that mean a kept-alive socket had been closed by the server while idle, before it read
 * the request: the request is sent again once, on a fresh connection.
 */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE']);

const EMPTY = new Uint8Array(0);

export class HttpTransport {
  private readonly base: URL;
  private readonly request: typeof http.request;
  private readonly pool: http.Agent;

  /** `url`: the agent's base URL as checked by the client, also the one named in errors. */
  constructor(private readonly url: string) {
    this.base = new URL(url);
    const secure = this.base.protocol === 'https:';
    this.request = secure ? https.request : http.request;
    this.pool = POOLS[secure ? 'https:' : 'http:'];
  }

  async send(path: string, exchange: HttpExchange): Promise<HttpAnswer> {
    const { signal } = exchange;
    if (signal?.aborted) throw new CancellationError({ cause: signal.reason });
    try {
      return await this.attempt(path, exchange);
    } catch (error) {
      if (!(error instanceof StaleSocketError)) throw error;
      return this.attempt(path, exchange);
    }
  }

  private attempt(path: string, exchange: HttpExchange): Promise<HttpAnswer> {
    const { signal, timeoutMs, body } = exchange;
    return new Promise<HttpAnswer>((resolve, reject) => {
      const headers = body ? { ...exchange.headers, 'content-length': String(body.byteLength) } : exchange.headers;
      const request = this.request({
        protocol: this.base.protocol,
        hostname: this.base.hostname,
        port: this.base.port,
        path: this.base.pathname.replace(/\/$/, '') + path,
        method: exchange.method,
        headers,
        agent: this.pool,
      });
      let answered = false;
      let settled = false;
      const finish = (error: Error | undefined, answer?: HttpAnswer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (error) {
          request.destroy();
          reject(error);
        } else resolve(answer!);
      };
      const onAbort = (): void => finish(new CancellationError({ cause: signal?.reason }));
      signal?.addEventListener('abort', onAbort, { once: true });
      const timer = timeoutMs ? setTimeout(() => finish(new AgentTimeoutError(this.url, timeoutMs)), timeoutMs) : undefined;

      request.on('error', (error: Error & { code?: string }) => {
        const stale = !answered && request.reusedSocket && STALE_SOCKET_CODES.has(error.code ?? '');
        finish(stale ? new StaleSocketError() : new AgentUnreachableError(this.url, error.code ?? error.message, { cause: error }));
      });
      request.on('response', (response) => {
        answered = true;
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          size += chunk.byteLength;
        });
        response.on('error', (error: Error & { code?: string }) =>
          finish(new AgentUnreachableError(this.url, error.code ?? error.message, { cause: error })),
        );
        response.on('aborted', () => finish(new AgentUnreachableError(this.url, 'the connection closed before the whole answer arrived')));
        response.on('end', () => {
          const whole = size === 0 ? EMPTY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
          // A plain Uint8Array view of the same bytes (no copy), as fetch gave: callers compare and store it.
          const body = new Uint8Array(whole.buffer, whole.byteOffset, whole.byteLength);
          finish(undefined, { status: response.statusCode ?? 0, headers: new AnswerHeaders(response.headers), body });
        });
      });
      request.end(body);
    });
  }
}

/** A reused socket that turned out closed: internal, never leaves this module. */
class StaleSocketError extends Error {}
