/** The two checks every request passes before any route: its Host header, then its token. */
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Accepts a Host header naming the listen address, localhost, a loopback literal or an allowed host,
 * with or without a port. Anything else is refused, so that a web page cannot reach a local agent
 * through a DNS name it rebound to 127.0.0.1.
 */
export function makeHostCheck(listenHost: string, allowHosts: readonly string[]): (host: string | undefined) => boolean {
  const accepted = new Set(
    [listenHost, 'localhost', '127.0.0.1', '::1', ...allowHosts].map((name) => bareHostName(name).toLowerCase()),
  );
  return (host) => host !== undefined && accepted.has(bareHostName(host).toLowerCase());
}

/** `example.com:8100` → `example.com`; `[::1]:8100` and `[::1]` → `::1`; `::1` stays. */
export function bareHostName(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end < 0 ? host : host.slice(1, end);
  }
  const colon = host.indexOf(':');
  // More than one ':' is a bare IPv6 address (as given to --host), not host:port.
  if (colon < 0 || host.indexOf(':', colon + 1) >= 0) return host;
  return host.slice(0, colon);
}

/** The auth scheme is case-insensitive (RFC 9110 §11.1): `bearer x` is as good as `Bearer x`. */
const BEARER = /^bearer[ \t]+/i;

/**
 * Accepts `Authorization: Bearer <token>`. Both sides are hashed first so that the comparison is
 * constant-time whatever their lengths; the token itself is never kept in a readable field.
 */
export function makeTokenCheck(token: string): (authorization: string | undefined) => boolean {
  const expected = digest(token);
  return (authorization) => {
    const scheme = authorization === undefined ? null : BEARER.exec(authorization);
    if (authorization === undefined || scheme === null) return false;
    return timingSafeEqual(digest(authorization.slice(scheme[0].length).trim()), expected);
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

// ---- web pages: Origin and Sec-Fetch-Site -------------------------------------------------------

/** What the cross-origin guard decided for one request. */
export type OriginVerdict = { allowed: true; corsOrigin?: string } | { allowed: false; reason: string };

/**
 * A browser marks what a web page sends: `Origin` (every cross-origin request, POST forms
 * included) and `Sec-Fetch-Site`. The agent serves no pages, so any page is another origin and
 * may not use it unless named with --allow-origin; curl, the CLI and the extension send neither
 * header and are not affected. Checked whether or not the agent has a token: a page must not
 * even learn how the agent answers.
 */
export function makeOriginCheck(allowOrigins: readonly string[]): (origin: string | undefined, fetchSite: string | undefined) => OriginVerdict {
  const allowed = new Set(allowOrigins.map(normalizeOrigin));
  return (origin, fetchSite) => {
    if (origin !== undefined) {
      if (allowed.has(normalizeOrigin(origin))) return { allowed: true, corsOrigin: origin };
      const shown = origin.slice(0, 200);
      return {
        allowed: false,
        reason: `requests from web pages are refused: Origin '${shown}' is not allowed; start the agent with --allow-origin ${shown} to let pages from it use the agent`,
      };
    }
    if (fetchSite === 'cross-site' || fetchSite === 'same-site') {
      return {
        allowed: false,
        reason: `requests from web pages are refused: this one (Sec-Fetch-Site: ${fetchSite}) names no Origin; start the agent with --allow-origin ORIGIN to let pages from ORIGIN use the agent`,
      };
    }
    return { allowed: true };
  };
}

/** `HTTP://LocalHost:3000/` → `http://localhost:3000`: origins compare by scheme, host and port. */
export function normalizeOrigin(origin: string): string {
  return origin.trim().replace(/\/+$/, '').toLowerCase();
}

/**
 * Why a value given to --allow-origin is not an origin (`scheme://host[:port]`, or `null` for
 * sandboxed pages and files), else undefined.
 */
export function checkOrigin(origin: string): string | undefined {
  if (origin === 'null') return undefined;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return `'${origin}' is not an origin; give scheme, host and port, e.g. http://localhost:3000`;
  }
  if (url.origin === 'null' || normalizeOrigin(origin) !== url.origin) {
    return `'${origin}' is not an origin (no path, query or '*'); give scheme, host and port, e.g. ${url.origin === 'null' ? 'http://localhost:3000' : url.origin}`;
  }
  return undefined;
}

/** Request headers a page of an allowed origin may send, and response headers it may read. */
export const CORS_ALLOW_METHODS = 'GET, HEAD, POST, PUT, DELETE';
export const CORS_ALLOW_HEADERS = 'Authorization, Content-Type, Serval-Integrity';
export const CORS_EXPOSE_HEADERS = 'Serval-Job-Id, Serval-Duration-Ms, Serval-Exit-Code, Serval-Trap, Serval-Limit, Serval-Integrity, Location, Retry-After, WWW-Authenticate';
export const CORS_MAX_AGE_S = 600;

// ---- one Host -----------------------------------------------------------------------------------

/** Node keeps the first of repeated Host headers; a request with two is ambiguous (RFC 9112 §3.2: 400). */
export function hostHeaderCount(rawHeaders: readonly string[]): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    if (name.length === 4 && name.toLowerCase() === 'host') count++;
  }
  return count;
}

// ---- wrong tokens -------------------------------------------------------------------------------

/** Wrong tokens an address may send per window before its 401s are slowed down. */
const FREE_FAILURES = 20;
const FAILURE_WINDOW_MS = 60_000;
const FIRST_DELAY_MS = 50;
const LONGEST_DELAY_MS = 1_000;
/** Addresses remembered at most: a flood of addresses must not grow memory without bound. */
const REMEMBERED_ADDRESSES = 10_000;

/** A token guess: a Bearer token that could have been the right one (no other form ever is). */
export function isBearerGuess(authorization: string | undefined): boolean {
  return authorization !== undefined && BEARER.test(authorization);
}

/**
 * Slows down guessing: after FREE_FAILURES wrong tokens from one address in a window, each further
 * 401 to it waits, doubling up to LONGEST_DELAY_MS. Right tokens are never slowed, so a user who
 * shares an address with a guesser (every local user is 127.0.0.1) keeps working.
 */
export class FailedTokenThrottle {
  private readonly failures = new Map<string, { count: number; since: number }>();

  /** Records a wrong token from `address`; returns how long to wait before answering 401. */
  failed(address: string, now = Date.now()): number {
    let entry = this.failures.get(address);
    if (entry === undefined || now - entry.since > FAILURE_WINDOW_MS) {
      entry = { count: 0, since: now };
      if (this.failures.size >= REMEMBERED_ADDRESSES) this.failures.delete(this.failures.keys().next().value as string);
    }
    this.failures.delete(address);
    this.failures.set(address, entry);
    entry.count++;
    const over = entry.count - FREE_FAILURES;
    return over <= 0 ? 0 : Math.min(LONGEST_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(over - 1, 10));
  }

  /** True the first time `address` is slowed down in its window (to log it once). */
  startsSlowing(address: string): boolean {
    return this.failures.get(address)?.count === FREE_FAILURES + 1;
  }
}
