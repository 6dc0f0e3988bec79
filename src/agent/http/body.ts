/** Reads a request body into memory, never past a size limit. */
import type { IncomingMessage } from 'node:http';

import { HttpError } from './respond';

const EMPTY = Buffer.alloc(0);

/** The body went over the limit: the caller answers 413 and closes the connection. */
export class BodyTooLargeError extends HttpError {
  constructor(what: string, limit: number) {
    super(413, `the ${what} is larger than this agent's limit of ${limit} bytes; send less, or start the agent with a higher ${what === 'manifest' ? '--max-manifest-bytes' : '--max-body-bytes'}`, {
      // The rest of the body is not read: the connection cannot be reused.
      connection: 'close',
    });
  }
}

/** The client went away before it finished sending. Nobody is left to answer. */
export class ClientGoneError extends Error {
  constructor() {
    super('the client closed the connection before it sent the whole body');
    this.name = 'ClientGoneError';
  }
}

export interface ReadBodyOptions {
  /**
   * A body of at least this many bytes with a Content-Length goes straight into a
   * SharedArrayBuffer as it arrives: one copy, no second buffer to concatenate into, and a worker
   * thread reads it in place (a job's input).
   */
  sharedFrom?: number;
}

/**
 * The whole body, refused as soon as it is known to exceed `limit`: up front from Content-Length,
 * else when the bytes read pass it (reading then stops). One chunk is returned as is, not copied.
 */
export function readBody(req: IncomingMessage, limit: number, what: string, options: ReadBodyOptions = {}): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared === '0') return Promise.resolve(EMPTY);
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(new BodyTooLargeError(what, limit));
  }
  const length = declared === undefined ? Number.NaN : Number(declared);
  const shared = options.sharedFrom !== undefined && Number.isSafeInteger(length) && length >= options.sharedFrom;
  const into = shared ? Buffer.from(new SharedArrayBuffer(length)) : undefined;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (error: Error): void => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      // Paused until the refusal is sent; the server's lingering close then reads and drops the rest.
      req.pause();
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      // Node's parser never passes more than Content-Length bytes on.
      if (into) into.set(chunk, size);
      else chunks.push(chunk);
      size += chunk.byteLength;
      if (size > limit) return stop(new BodyTooLargeError(what, limit));
    };
    const onEnd = (): void => {
      req.off('error', onError).off('close', onClose);
      if (into) resolve(into);
      else resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    };
    const onError = (): void => stop(new ClientGoneError());
    const onClose = (): void => {
      if (!req.complete) stop(new ClientGoneError());
    };
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}
