/**
 * A manifest's `files` folder on disk: checked (missing, not a folder, too big) and packed into the
 * tar that publishing uploads with the version. Shared by `serval store`, the editor's Publish and
 * the manifest diagnostics. Node's fs only, no vscode.
 */
import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import * as path from 'node:path';

import { DEFAULT_TAR_LIMITS, linkLeavesTree, type TarEntry, type TarLimits, writeTar } from './tar';

/** Why a files folder cannot be published, in the user's terms (a sentence without the folder's name). */
export class FilesFolderError extends Error {
  constructor(
    readonly reason: 'missing' | 'not-folder' | 'too-big' | 'unreadable',
    message: string,
  ) {
    super(message);
    this.name = 'FilesFolderError';
  }
}

export interface PackedFolder {
  entries: TarEntry[];
  /** Bytes of the files together. */
  bytes: number;
}

/** The folder's tree: files, folders and symbolic links that stay inside it; throws FilesFolderError. */
export async function readFilesFolder(folder: string, limits: TarLimits = DEFAULT_TAR_LIMITS): Promise<PackedFolder> {
  await checkIsFolder(folder);
  const entries: TarEntry[] = [];
  let bytes = 0;
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      const full = path.join(dir, name);
      const relative = prefix ? `${prefix}/${name}` : name;
      const info = await lstat(full);
      if (entries.length >= limits.maxEntries) {
        throw new FilesFolderError('too-big', `has more than ${limits.maxEntries} files and folders; a job's files may have at most that many`);
      }
      const mtimeMs = info.mtimeMs;
      if (info.isDirectory()) {
        entries.push({ kind: 'dir', path: relative, mtimeMs });
        await walk(full, relative);
      } else if (info.isSymbolicLink()) {
        const target = await readlink(full);
        if (path.isAbsolute(target) || linkLeavesTree(relative, target.split(path.sep).join('/'))) {
          throw new FilesFolderError('unreadable', `holds the link ${relative}, which points outside it (${target}); a job sees only its own files`);
        }
        entries.push({ kind: 'symlink', path: relative, target: target.split(path.sep).join('/'), mtimeMs });
      } else if (info.isFile()) {
        bytes += info.size;
        if (bytes > limits.maxBytes) throw tooBig(limits.maxBytes);
        entries.push({ kind: 'file', path: relative, data: await readFile(full), mtimeMs });
      }
      // Sockets, pipes and devices are not files a job could read: left out.
    }
  };
  await walk(folder, '');
  return { entries, bytes };
}

/** The folder as the tar archive that publishing uploads. */
export async function packFilesFolder(folder: string, limits: TarLimits = DEFAULT_TAR_LIMITS): Promise<Buffer> {
  return writeTar((await readFilesFolder(folder, limits)).entries);
}

/** Size of the folder's files (for diagnostics), without reading their bytes; throws FilesFolderError. */
export async function filesFolderSize(folder: string, limits: TarLimits = DEFAULT_TAR_LIMITS): Promise<number> {
  await checkIsFolder(folder);
  let bytes = 0;
  let count = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (++count > limits.maxEntries) {
        throw new FilesFolderError('too-big', `has more than ${limits.maxEntries} files and folders; a job's files may have at most that many`);
      }
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) {
        bytes += (await lstat(full)).size;
        if (bytes > limits.maxBytes) throw tooBig(limits.maxBytes);
      }
    }
  };
  await walk(folder);
  return bytes;
}

async function checkIsFolder(folder: string): Promise<void> {
  let info;
  try {
    info = await stat(folder);
  } catch {
    throw new FilesFolderError('missing', 'does not exist; create it, or fix `files`');
  }
  if (!info.isDirectory()) throw new FilesFolderError('not-folder', 'is not a folder; `files` names a folder whose tree the job sees as /');
}

function tooBig(limit: number): FilesFolderError {
  return new FilesFolderError('too-big', `holds more than ${Math.round(limit / (1024 * 1024))} MiB; a job's files must fit its memory limit`);
}
