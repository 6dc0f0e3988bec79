/**
 * Connection handling as nginx does it: timeouts for headers, bodies and idle keep-alive
 * connections, a cap on open connections with a clean refusal, a lingering close after an early
 * refusal (so a client still sending its body reads the answer), and a log line when the process
 * runs out of file descriptors.
 */
import { readFileSync, readdirSync } from 'node:fs';
import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

import type { AgentLog } from '../types';
import { TEXT } from './respond';

export interface ConnectionLimits {
  /** Open connections at most; more are answered 503 and closed. */
  maxConnections: number;
  /** Time from a connection (or the end of the last response) to the end of the request's headers. */
  headersTimeoutMs: number;
  /** An idle kept-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** A body that brings fewer than `minBodyBytesPerWindow` bytes in this window is answered 408. */
  bodyWindowMs: number;
  minBodyBytesPerWindow: number;
  /** The whole request (headers and body) at most; a hard bound behind the body rate. */
  requestTimeoutMs: number;
  /** After an early refusal: how long, and how many bytes, the rest of the body is read and dropped. */
  lingerMs: number;
  lingerIdleMs: number;
  lingerBytes: number;
}

export const DEFAULT_MAX_CONNECTIONS = 1024;

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxConnections: DEFAULT_MAX_CONNECTIONS,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  bodyWindowMs: 10_000,
  minBodyBytesPerWindow: 16 * 1024,
  requestTimeoutMs: 300_000,
  lingerMs: 30_000,
  lingerIdleMs: 5_000,
  lingerBytes: 128 * 1024 * 1024,
};

/** Node's own timeouts (headers, keep-alive, whole request), checked every second instead of every 30. */
export function serverTimeouts(limits: ConnectionLimits): ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
  };
}

interface BodyWatch {
  req: IncomingMessage;
  res: ServerResponse;
  bytesAtCheck: number;
  checkAt: number;
}

interface Linger {
  startedAt: number;
  bytesAtStart: number;
  bytesAtCheck: number;
  lastProgressAt: number;
}

const TICK_MS = 1_000;
const LOG_EVERY_MS = 10_000;

/**
 * Watches the connections of one server. `watch(req, res)` for every request; `lingerAfter(req, res)`
 * before answering a request whose body is not read.
 */
export class ConnectionGuard {
  private open = 0;
  private refusedSinceLog = 0;
  private lastRefusalLog = 0;
  private readonly bodies = new Set<BodyWatch>();
  private readonly lingering = new Map<Socket, Linger>();
  private readonly ticker: NodeJS.Timeout;
  private readonly files: FileDescriptorWatch | undefined;

  constructor(
    private readonly server: Server,
    private readonly limits: ConnectionLimits,
    private readonly log: AgentLog,
  ) {
    this.capConnections();
    this.files = FileDescriptorWatch.create(log);
    this.ticker = setInterval(() => this.tick(), Math.min(TICK_MS, limits.bodyWindowMs, limits.lingerIdleMs));
    this.ticker.unref();
    server.once('close', () => clearInterval(this.ticker));
  }

  get openConnections(): number {
    return this.open;
  }

  /** True when the request arrived on a connection that is being closed: it gets no answer. */
  isLingering(req: IncomingMessage): boolean {
    return this.lingering.has(req.socket);
  }

  /** Keeps an eye on the request's body until it is complete: too slow a body is answered 408. */
  watch(req: IncomingMessage, res: ServerResponse): void {
    if (req.complete) return;
    const watch: BodyWatch = { req, res, bytesAtCheck: req.socket.bytesRead, checkAt: Date.now() + this.limits.bodyWindowMs };
    this.bodies.add(watch);
    const done = (): void => void this.bodies.delete(watch);
    req.once('end', done).once('close', done);
  }

  /**
   * The answer goes out before the body was read (413, 401, 503 …). Closing at once would reset
   * the connection under a client still sending, which then sees EPIPE instead of the answer.
   * Like nginx's lingering close: answer with `Connection: close`, close only our side, read and
   * drop what still comes (bounded in time and bytes), then close.
   */
  lingerAfter(req: IncomingMessage, res: ServerResponse): void {
    if (req.complete) return;
    const socket = req.socket;
    res.setHeader('connection', 'close');
    // Node ends a `Connection: close` response with socket.destroySoon(): end, then destroy
    // once our side is flushed, which resets the connection if bytes are still arriving.
    socket.destroySoon = () => {
      socket.end();
      this.linger(socket, req);
    };
  }

  private linger(socket: Socket, req: IncomingMessage): void {
    if (socket.destroyed) return;
    const now = Date.now();
    this.lingering.set(socket, { startedAt: now, bytesAtStart: socket.bytesRead, bytesAtCheck: socket.bytesRead, lastProgressAt: now });
    socket.once('close', () => this.lingering.delete(socket));
    // What still comes is read and dropped: by the request (the rest of its body) or the socket.
    req.resume();
    socket.resume();
  }

  // ---- the connection cap -------------------------------------------------------------------

  /**
   * Node's own maxConnections drops a connection without a word; here the one past the cap gets a
   * 503 it can read, and the agent says so in its log (once per 10 s, with a count).
   */
  private capConnections(): void {
    const httpListeners = this.server.listeners('connection') as Array<(socket: Socket) => void>;
    this.server.removeAllListeners('connection');
    this.server.on('connection', (socket: Socket) => {
      if (this.open >= this.limits.maxConnections) return this.refuse(socket);
      this.open++;
      socket.once('close', () => this.open--);
      for (const listener of httpListeners) listener.call(this.server, socket);
    });
  }

  private refuse(socket: Socket): void {
    this.refusedSinceLog++;
    const now = Date.now();
    if (now - this.lastRefusalLog >= LOG_EVERY_MS) {
      this.log('warn', 'connections refused: the agent has as many open connections as --max-connections allows', {
        max_connections: this.limits.maxConnections,
        refused: this.refusedSinceLog,
      });
      this.lastRefusalLog = now;
      this.refusedSinceLog = 0;
    }
    const body = `the agent has ${this.limits.maxConnections} open connections, as many as it allows (--max-connections); try again shortly\n`;
    socket.on('error', () => socket.destroy());
    socket.end(
      `HTTP/1.1 503 Service Unavailable\r\nContent-Type: ${TEXT}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n${body}`,
    );
    // Its request is read and dropped, so that the close does not reset the connection under it.
    socket.resume();
    const linger = setTimeout(() => socket.destroy(), this.limits.lingerIdleMs);
    linger.unref();
    socket.once('close', () => clearTimeout(linger));
  }

  // ---- the watchdog -------------------------------------------------------------------------

  private tick(): void {
    const now = Date.now();
    for (const watch of this.bodies) this.checkBody(watch, now);
    for (const [socket, linger] of this.lingering) this.checkLinger(socket, linger, now);
    this.files?.check(this.open);
  }

  private checkBody(watch: BodyWatch, now: number): void {
    if (now < watch.checkAt) return;
    const { req, res } = watch;
    const received = req.socket.bytesRead - watch.bytesAtCheck;
    if (req.complete || req.socket.destroyed || res.headersSent) {
      this.bodies.delete(watch);
      return;
    }
    if (received >= this.limits.minBodyBytesPerWindow) {
      watch.bytesAtCheck = req.socket.bytesRead;
      watch.checkAt = now + this.limits.bodyWindowMs;
      return;
    }
    this.bodies.delete(watch);
    const seconds = Math.round(this.limits.bodyWindowMs / 1000);
    const body = `the request body arrived too slowly (${received} bytes in the last ${seconds} s); send it at once, or check the network\n`;
    res.writeHead(408, { 'content-type': TEXT, 'content-length': Buffer.byteLength(body), connection: 'close' });
    res.end(body, () => req.socket.destroy());
  }

  private checkLinger(socket: Socket, linger: Linger, now: number): void {
    const read = socket.bytesRead;
    if (read > linger.bytesAtCheck) {
      linger.bytesAtCheck = read;
      linger.lastProgressAt = now;
    }
    const tooLong = now - linger.startedAt >= this.limits.lingerMs;
    const idle = now - linger.lastProgressAt >= this.limits.lingerIdleMs;
    const tooMuch = read - linger.bytesAtStart >= this.limits.lingerBytes;
    if (tooLong || idle || tooMuch) socket.destroy();
  }
}

/**
 * At the limit of open files, the system refuses new connections before Node sees them (libuv
 * accepts and closes them, the client gets a reset), so nothing would be logged. Checked every
 * second from /proc on Linux; elsewhere not at all.
 */
class FileDescriptorWatch {
  private lastLog = 0;

  private constructor(
    private readonly limit: number,
    private readonly log: AgentLog,
  ) {}

  static create(log: AgentLog): FileDescriptorWatch | undefined {
    if (process.platform !== 'linux') return undefined;
    try {
      const line = readFileSync('/proc/self/limits', 'utf8')
        .split('\n')
        .find((text) => text.startsWith('Max open files'));
      const limit = Number(line?.split(/\s{2,}/)[1]);
      return Number.isFinite(limit) && limit > 0 ? new FileDescriptorWatch(limit, log) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Cheap while far from the limit: /proc is read only once connections could come near it. */
  check(openConnections: number): void {
    if (openConnections < this.limit / 2) return;
    const now = Date.now();
    if (now - this.lastLog < LOG_EVERY_MS) return;
    let used: number;
    try {
      used = readdirSync('/proc/self/fd').length;
    } catch {
      used = this.limit; // EMFILE itself: no descriptor left even to look
    }
    if (used < this.limit - 16) return;
    this.lastLog = now;
    this.log('error', 'the agent is out of file descriptors: new connections are refused by the system until some close', {
      open_files: used,
      limit: this.limit,
      open_connections: openConnections,
      remedy: 'lower --max-connections below the limit, or raise the limit (ulimit -n)',
    });
  }
}
