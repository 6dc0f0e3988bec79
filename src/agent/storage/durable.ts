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

/** `sha256-<base64>` of `bytes`, the form cacache and the API use. */
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

/**
 * Writes `body` to `file` (created, must not exist), hashing it on the way: one pass, the bytes are
 * never held whole. fsync'd before it resolves; on any failure the file is removed.
 */
export async function writeHashed(file: string, body: UploadBody): Promise<BlobInfo> {
  const hash = createHash(ALGORITHM);
  let size = 0;
  const handle = await fs.open(file, 'wx', 0o644);
  // The disk writes one slice while the next is hashed: hashing and writing overlap.
  let writing: Promise<void> = Promise.resolve();
  try {
    for await (const chunk of body instanceof Uint8Array ? [body] : body) {
      for (let offset = 0; offset < chunk.byteLength; offset += SLICE_BYTES) {
        const slice = chunk.subarray(offset, offset + SLICE_BYTES);
        hash.update(slice);
        size += slice.byteLength;
        await writing;
        writing = writeAll(handle, slice);
      }
    }
    await writing;
    await handle.sync();
  } catch (error) {
    await writing.catch(() => undefined);
    await handle.close().catch(() => undefined);
    await fs.rm(file, { force: true }).catch(() => undefined);
    throw error;
  }
  await handle.close();
  return { integrity: `${ALGORITHM}-${hash.digest('base64')}`, size };
}

async function writeAll(handle: fs.FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
    offset += bytesWritten;
  }
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
