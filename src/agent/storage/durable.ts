/**
 * File operations that keep their promise: data and directory entries fsync'd before they resolve,
 * and every failure named in the user's terms (full disk, no inodes, read-only, no permission).
 */
import { createHash } from 'node:crypto';
import { constants as fsConstants, promises as fs } from 'node:fs';
import * as path from 'node:path';

import type { BlobInfo, UploadBody } from './contract';
import { StorageError } from './contract';

const ALGORITHM = 'sha256';
/** Unit of the hash/write overlap of an upload. */
const SLICE_BYTES = 1024 * 1024;
/** A durable upload is flushed to disk this often while it streams in. */
const SYNC_AHEAD_BYTES = 8 * 1024 * 1024;
/** Buffers of one writev at most (the system's IOV_MAX is 1024). */
const MAX_BATCH_BUFFERS = 1024;

/** `sha256-<base64>` of `bytes`, the form cacache and the API use. */
/** A Node.js system error (it has an errno code such as ENOSPC). */
export function isErrno(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}

export function sriOf(bytes: Uint8Array): string {
  return `${ALGORITHM}-${createHash(ALGORITHM).update(bytes).digest('base64')}`;
}

/**
 * mkdir -p one level at a time: Node's recursive mkdir reports ENOENT when the real cause is
 * ENOSPC (no inodes) or EROFS, which would hide the one thing the user must know. New folders'
 * parents are fsync'd so the new entries survive a crash.
 */
export async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let current = dir; ; current = path.dirname(current)) {
    try {
      if ((await fs.stat(current)).isDirectory()) break;
      throw Object.assign(new Error(`${current} is not a folder`), { code: 'ENOTDIR', path: current });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || path.dirname(current) === current) throw error;
      missing.unshift(current);
    }
  }
  for (const folder of missing) {
    await fs.mkdir(folder).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
    await syncDir(path.dirname(folder));
  }
}

export async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, fsConstants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface WriteHashedOptions {
  /** fsync before resolving: a store's content must survive a crash; a spool for an upload need not. */
  durable: boolean;
  /**
   * Runs once every byte is written and hashed, while the bytes go to disk (the file is complete
   * and readable); throwing refuses the upload: the file is removed and the error propagates.
   */
  whileSyncing?: (blob: BlobInfo) => void | Promise<void>;
}

/**
 * Writes `body` to `file` (created, must not exist), hashing it on the way: one pass, the bytes are
 * never held whole, the body is read no faster than the disk takes it. On any failure (of the
 * body, the disk or the check) the file is removed.
 */
export async function writeHashed(file: string, body: UploadBody, options: WriteHashedOptions): Promise<BlobInfo> {
  const handle = await fs.open(file, 'wx', 0o644);
  const writer = new HashedWriter(handle, options.durable);
  try {
    for await (const chunk of body instanceof Uint8Array ? [body] : body) await writer.add(chunk);
    const blob = await writer.finish();
    // The check (a module validated from this file by the check worker) and the fsync overlap.
    const checking = Promise.resolve().then(() => options.whileSyncing?.(blob));
    const [synced, checked] = await Promise.allSettled([options.durable ? writer.sync() : undefined, checking]);
    if (synced.status === 'rejected') throw synced.reason;
    if (checked.status === 'rejected') throw checked.reason;
    await handle.close();
    return blob;
  } catch (error) {
    await writer.settle();
    await handle.close().catch(() => undefined);
    await fs.rm(file, { force: true }).catch(() => undefined);
    throw error;
  }
}

/**
 * Hashes each chunk as it comes and writes them in batches (one writev per SLICE_BYTES, no copy),
 * one batch in flight while the next is gathered and hashed. A durable file is also flushed every
 * SYNC_AHEAD_BYTES while it streams in, so that the fsync at the end finds little left to write.
 */
class HashedWriter {
  private readonly hash = createHash(ALGORITHM);
  private size = 0;
  private batch: Uint8Array[] = [];
  private batchBytes = 0;
  private writing: Promise<void> = Promise.resolve();
  private written = 0;
  private syncedAt = 0;
  private syncingAhead: Promise<void> | undefined;
  /** An early fsync's failure: a later fsync of the same file may no longer report it. */
  private syncError: unknown;

  constructor(
    private readonly handle: fs.FileHandle,
    private readonly durable: boolean,
  ) {}

  async add(chunk: Uint8Array): Promise<void> {
    for (let offset = 0; offset < chunk.byteLength; offset += SLICE_BYTES) {
      const slice = chunk.subarray(offset, offset + SLICE_BYTES);
      this.hash.update(slice);
      this.size += slice.byteLength;
      this.batch.push(slice);
      this.batchBytes += slice.byteLength;
      if (this.batchBytes >= SLICE_BYTES || this.batch.length >= MAX_BATCH_BUFFERS) await this.flush();
    }
  }

  async finish(): Promise<BlobInfo> {
    await this.flush();
    await this.writing;
    return { integrity: `${ALGORITHM}-${this.hash.digest('base64')}`, size: this.size };
  }

  async sync(): Promise<void> {
    await this.syncingAhead;
    if (this.syncError !== undefined) throw this.syncError;
    await this.handle.sync();
  }

  /** Waits for what is in flight, ignoring its failure (the caller is already failing). */
  async settle(): Promise<void> {
    await this.writing.catch(() => undefined);
    await this.syncingAhead;
  }

  private async flush(): Promise<void> {
    if (this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    await this.writing;
    this.writing = writeAll(this.handle, batch).then((bytes) => {
      this.written += bytes;
      this.syncAhead();
    });
    // Awaited by the next flush or finish(), maybe only once a slow client sends more: a failure
    // meanwhile (a full disk) must not count as an unhandled rejection, which stops the process.
    this.writing.catch(() => undefined);
  }

  private syncAhead(): void {
    if (!this.durable || this.syncingAhead || this.written - this.syncedAt < SYNC_AHEAD_BYTES) return;
    this.syncedAt = this.written;
    this.syncingAhead = this.handle
      .datasync()
      .catch((error: unknown) => {
        this.syncError ??= error;
      })
      .finally(() => {
        this.syncingAhead = undefined;
      });
  }
}

async function writeAll(handle: fs.FileHandle, buffers: Uint8Array[]): Promise<number> {
  let total = 0;
  let pending = buffers;
  while (pending.length > 0) {
    const { bytesWritten } = await handle.writev(pending);
    total += bytesWritten;
    pending = remainingAfter(pending, bytesWritten);
  }
  return total;
}

/** What a short write left of `buffers`. */
function remainingAfter(buffers: Uint8Array[], bytesWritten: number): Uint8Array[] {
  let skip = bytesWritten;
  const rest: Uint8Array[] = [];
  for (const buffer of buffers) {
    if (skip >= buffer.byteLength) {
      skip -= buffer.byteLength;
      continue;
    }
    rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
    skip = 0;
  }
  return rest;
}

/** Writes `text` to `file` atomically (a temp file renamed over it), fsync'd, with `mode`. */
export async function writeFileAtomic(file: string, text: string | Uint8Array, mode = 0o644): Promise<void> {
  const temp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const handle = await fs.open(temp, 'wx', mode);
  try {
    await handle.writeFile(text);
    await handle.sync();
    await handle.close();
    await fs.rename(temp, file);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
  await syncDir(path.dirname(file));
}

const CAUSES: Record<string, { status: number; cause: string; action: string }> = {
  ENOSPC: { status: 507, cause: 'has no space (or no inodes) left', action: 'free some space on that disk' },
  EDQUOT: { status: 507, cause: 'is over its disk quota', action: 'free some space or raise the quota' },
  EROFS: { status: 507, cause: 'is on a read-only file system', action: 'remount it read-write or start the agent with another --storage folder' },
  EACCES: { status: 500, cause: 'may not be written by this agent', action: "fix the folder's permissions or start the agent with another --storage folder" },
  EPERM: { status: 500, cause: 'may not be written by this agent', action: "fix the folder's permissions or start the agent with another --storage folder" },
  EIO: { status: 500, cause: 'gave an I/O error (failing disk?)', action: 'check the disk' },
  EMFILE: { status: 503, cause: 'cannot be used now: the agent has too many open files', action: 'try again' },
};

/**
 * A file-system failure of the store as a StorageError naming the cause (507 for a full or
 * read-only disk); anything unexpected keeps its own message, with the store named.
 */
export function storageFailure(error: unknown, location: string, doing: string): StorageError {
  if (error instanceof StorageError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const known = CAUSES[code];
  if (known) {
    return new StorageError(known.status, `could not ${doing}: the storage folder ${location} ${known.cause} (${code}); ${known.action}, then try again`);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new StorageError(500, `could not ${doing} in the storage folder ${location} (${message}); see the agent log`);
}
