/**
 * Stale-build detection: a `.wasm` older than the sources next to it was probably not rebuilt
 * after the last edit. The manifest itself is no source: a new `version`, or a save without a
 * change, needs no rebuild. Files written within a few seconds of the binary (a copy of the
 * folder, a checkout) are not "newer" either. Pure Node (no `vscode`), unit-tested with temp folders.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** Extensions of files that are compiled into a job. Others (README, .gitignore) never make a build stale. */
const SOURCE_EXTENSIONS = new Set([
  '.c', '.h', '.cc', '.cpp', '.hpp', '.rs', '.go', '.zig', '.wat', '.ts', '.js', '.as', '.swift', '.toml',
]);
const SKIPPED_FOLDERS = new Set(['node_modules', 'target', '.git', 'build', 'out', 'dist']);
const MAX_DEPTH = 3;
/** `cp -r`, `git checkout` and unpacking write a folder's files in some order within this time. */
export const SAME_TIME_MS = 2_000;

export interface StaleBuild {
  /** The newest source file that is newer than the binary. */
  newerFile: string;
}

/** Returns why the binary looks stale, or undefined when it is not older than anything it is built from. */
export async function findStaleBuild(manifestPath: string, binaryPath: string): Promise<StaleBuild | undefined> {
  const binaryTime = (await fs.stat(binaryPath)).mtimeMs;
  const candidates = await listSources(path.dirname(manifestPath), MAX_DEPTH);
  let newest: { file: string; time: number } | undefined;
  for (const file of candidates) {
    if (path.resolve(file) === path.resolve(binaryPath) || path.resolve(file) === path.resolve(manifestPath)) continue;
    const time = (await fs.stat(file)).mtimeMs;
    if (time > binaryTime + SAME_TIME_MS && (!newest || time > newest.time)) newest = { file, time };
  }
  return newest ? { newerFile: newest.file } : undefined;
}

async function listSources(folder: string, depth: number): Promise<string[]> {
  const entries = await fs.readdir(folder, { withFileTypes: true });
  const found: string[] = [];
  for (const entry of entries) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) {
      if (depth > 0 && !SKIPPED_FOLDERS.has(entry.name) && !entry.name.startsWith('.')) {
        found.push(...(await listSources(full, depth - 1)));
      }
    } else if (entry.isFile() && SOURCE_EXTENSIONS.has(path.extname(entry.name).toLowerCase())) {
      found.push(full);
    }
  }
  return found;
}
