/** Reads a request body, into memory or as a stream of its chunks, never past a size limit. */
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
  try {
    refuseDeclaredOverLimit(req, limit, what);
  } catch (error) {
    return Promise.reject(error);
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

/** A 413 from Content-Length alone, before a byte of the body is read (so 100-continue is not sent). */
export function refuseDeclaredOverLimit(req: IncomingMessage, limit: number, what: string): void {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw new BodyTooLargeError(what, limit);
}

/** Bytes of a streamed body read ahead of its consumer at most; the socket is paused beyond. */
const READ_AHEAD_BYTES = 4 * 1024 * 1024;

/**
 * The body's chunks as they arrive, never past `limit` (call refuseDeclaredOverLimit first for
 * the 413 before reading). The chunks are the socket's, not copied; the request is read no faster
 * than the consumer takes them. A client that goes away mid-body is a ClientGoneError, a body
 * over the limit a BodyTooLargeError, both thrown by the iteration. When the iteration stops
 * early the request is paused, not destroyed, so that the refusal can still be sent and the
 * rest of the body read and dropped (connections.ts).
 */
export async function* streamBody(req: IncomingMessage, limit: number, what: string): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  let queuedBytes = 0;
  let size = 0;
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  const onData = (chunk: Buffer): void => {
    size += chunk.byteLength;
    if (size > limit) {
      failure ??= new BodyTooLargeError(what, limit);
      stopReading();
      return notify();
    }
    queue.push(chunk);
    queuedBytes += chunk.byteLength;
    if (queuedBytes >= READ_AHEAD_BYTES) req.pause();
    notify();
  };
  const onEnd = (): void => {
    ended = true;
    notify();
  };
  const onGone = (): void => {
    if (ended || req.complete) return;
    failure ??= new ClientGoneError();
    notify();
  };
  const stopReading = (): void => {
    req.off('data', onData).off('end', onEnd).off('error', onGone).off('close', onGone);
    req.pause();
  };
  req.on('data', onData).on('end', onEnd).on('error', onGone).on('close', onGone);
  try {
    for (;;) {
      if (failure) throw failure;
      const chunk = queue.shift();
      if (chunk) {
        queuedBytes -= chunk.byteLength;
        if (req.isPaused() && queuedBytes < READ_AHEAD_BYTES / 2) req.resume();
        yield chunk;
      } else if (ended) {
        return;
      } else {
        await new Promise<void>((resolve) => (wake = resolve));
      }
    }
  } finally {
    stopReading();
  }
}
