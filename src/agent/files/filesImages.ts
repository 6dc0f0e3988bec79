/**
 * From a version's files archive to the tree a run preopens: unpacked once per archive content
 * (its integrity) and kept for the archives run most recently, as an FsImage whose bytes sit in
 * shared memory, so that worker threads use them without a copy.
 */
import { readTar, type TarEntry, type TarLimits } from '../../files/tar';
import { LruMap } from '../runner/lru';
import type { FsImage, ImageEntry } from '../runner/memfs';
import type { JobStore } from '../storage';

const IMAGES_KEPT = 16;
const images = new LruMap<string, FsImage>(IMAGES_KEPT);

/** The tree of `version`'s files, or undefined when it has none. */
export async function filesImage(storage: JobStore, name: string, version: string, limits: TarLimits): Promise<FsImage | undefined> {
  const info = await storage.filesInfo(name, version);
  if (!info) return undefined;
  const kept = images.get(info.integrity);
  if (kept) return kept;
  const archive = await storage.readFiles(name, version);
  if (!archive) return undefined;
  const image = imageOf(readTar(archive, limits));
  images.set(info.integrity, image);
  return image;
}

/** The entries of an archive as an image: every file's bytes copied once into shared memory. */
export function imageOf(entries: readonly TarEntry[]): FsImage {
  const total = entries.reduce((sum, e) => sum + (e.kind === 'file' ? e.data.length : 0), 0);
  const data = new Uint8Array(new SharedArrayBuffer(total));
  const imageEntries: ImageEntry[] = [];
  let offset = 0;
  for (const entry of entries) {
    if (entry.kind === 'file') {
      data.set(entry.data, offset);
      imageEntries.push({ kind: 'file', path: entry.path, offset, length: entry.data.length, mtimeMs: entry.mtimeMs });
      offset += entry.data.length;
    } else if (entry.kind === 'dir') {
      imageEntries.push({ kind: 'dir', path: entry.path, mtimeMs: entry.mtimeMs });
    } else {
      imageEntries.push({ kind: 'symlink', path: entry.path, target: entry.target, mtimeMs: entry.mtimeMs });
    }
  }
  return { entries: imageEntries, data };
}
