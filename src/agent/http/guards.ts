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
