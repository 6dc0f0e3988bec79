/** Small helpers that write the API's responses: one-line plain-text errors, JSON, bytes. */
import type { ServerResponse } from 'node:http';

export const TEXT = 'text/plain; charset=utf-8';
export const JSON_TYPE = 'application/json; charset=utf-8';
export const OCTETS = 'application/octet-stream';
export const TOML = 'application/toml';

export type Headers = Record<string, string | number | string[]>;

/**
 * A refusal with its status and its one-line message (what was wrong, what to do). Handlers throw
 * it; the server turns it into the response.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Headers = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The message as one line: a body, or a log field, must never be split or smuggle a header. */
export function oneLine(message: string): string {
  return message.replace(/[\r\n]+/g, ' ').trim();
}

/** A plain-text body exactly as given (`pong`, an integrity). */
export function sendText(res: ServerResponse, status: number, text: string, headers: Headers = {}): void {
  sendBytes(res, status, TEXT, Buffer.from(text), headers);
}

/** An error body: one line (what was wrong, what to do), ended by a newline for terminals. */
export function sendError(res: ServerResponse, status: number, message: string, headers: Headers = {}): void {
  sendBytes(res, status, TEXT, Buffer.from(`${oneLine(message)}\n`), headers);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': body.byteLength });
  res.end(body);
}

export function sendBytes(res: ServerResponse, status: number, contentType: string, body: Uint8Array, headers: Headers = {}): void {
  res.writeHead(status, { ...headers, 'content-type': contentType, 'content-length': body.byteLength });
  res.end(body);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Headers = {}): void {
  res.writeHead(status, headers);
  res.end();
}

/**
 * A header value that Node accepts and a client can read: one line of printable ASCII. Trap
 * messages come from the guest's runtime and may hold anything.
 */
export function headerSafe(value: string): string {
  return oneLine(value).replace(/[^\x20-\x7e]/g, '?');
}
