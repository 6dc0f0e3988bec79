/**
 * A small ext4 file system on a loop device, for fault tests that need a real full disk, a real
 * inode shortage or a real read-only remount. Needs root and a loop device; `mountExt4` returns
 * undefined (with the reason) when this machine cannot, so the test can skip saying why.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { customSection } from './wasmBytes';

const run = promisify(execFile);

export interface Ext4Volume {
  /** The mount point (empty ext4 root, lost+found aside). */
  dir: string;
  remount(mode: 'ro' | 'rw'): Promise<void>;
  /** Unmounts and removes the image. */
  dispose(): Promise<void>;
}

export async function mountExt4(sizeMb: number, inodes?: number): Promise<Ext4Volume | string> {
  if (process.getuid?.() !== 0) return 'needs root (mounts a loop-device ext4 image)';
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'serval-ext4-'));
  const image = path.join(base, 'disk.img');
  const dir = path.join(base, 'mnt');
  try {
    await fs.mkdir(dir);
    await run('truncate', ['-s', `${sizeMb}M`, image]);
    await run('mkfs.ext4', ['-q', '-F', ...(inodes ? ['-N', String(inodes)] : []), '-m', '0', image]);
    await run('mount', ['-o', 'loop', image, dir]);
  } catch (error) {
    await fs.rm(base, { recursive: true, force: true });
    return `cannot mount a loop-device ext4 image here (${(error as Error).message.split('\n')[0]})`;
  }
  return {
    dir,
    remount: async (mode) => {
      await run('mount', ['-o', `remount,${mode}`, dir]);
    },
    dispose: async () => {
      await run('umount', [dir]).catch(() => run('umount', ['-l', dir]));
      await fs.rm(base, { recursive: true, force: true });
    },
  };
}

/** A valid WebAssembly module of about `size` bytes: `base` plus a custom section of filler. */
export function paddedModule(base: Uint8Array, size: number, fill: number): Buffer {
  const payload = Math.max(0, size - base.byteLength - 8);
  return Buffer.concat([Buffer.from(base), customSection('p', Buffer.alloc(payload, fill))]);
}

