/**
 * The agent's store of manifests and executables, on cacache.
 *
 * Keys are readable and close to the original agent's (`sh.serval.loudify.manifest.toml`,
 * `sh.serval.loudify.1.wasm`), with one change: the version is joined by `@`, because a '.' there
 * is ambiguous (`a.b` version `c.1` and `a.b.c` version `1` would share the key `a.b.c.1.wasm`),
 * and '@' is allowed in neither a fully-qualified name nor a version:
 *
 *   sh.serval.loudify.manifest.toml          the manifest stored last (metadata names its version)
 *   sh.serval.loudify@1.0.0.manifest.toml    the manifest of version 1.0.0, text exactly as sent
 *   sh.serval.loudify@1.0.0.wasm             the executable of version 1.0.0
 *
 * Every entry carries metadata `{ kind, name, version }`, so nothing is ever parsed back out of a
 * key. Content is addressed by its sha256 SRI integrity and verified on every read.
 *
 * The whole catalog (names, versions, integrities, sizes) lives in memory, loaded once at open:
 * reads are served from it, so a hot job run never touches the disk index. Every mutation goes to
 * disk first (cacache writes content to a tmp file, renames it, then appends the index line) and
 * to memory after, one mutation at a time.
 */
import { createHash } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';

import * as cacache from 'cacache';

import type { ExecutableInfo } from '../api/contract';
import type { AgentLog } from './types';

const ALGORITHM = 'sha256';

/** The stored bytes no longer match their integrity (corrupted or truncated on disk). */
export class IntegrityError extends Error {
  constructor(readonly what: string) {
    super(`the stored ${what} failed its integrity check (corrupted on disk); store it again`);
    this.name = 'IntegrityError';
  }
}

/**
 * The bytes were deleted or replaced (their version stored again) after the caller looked them up:
 * the store is intact, the caller's lookup is stale. Asking again gives the current answer.
 */
export class ContentGoneError extends Error {
  constructor(readonly what: string) {
    super(`the ${what} was deleted or replaced while this request was reading it; ask again`);
    this.name = 'ContentGoneError';
  }
}

type EntryKind = 'manifest' | 'latest' | 'executable';

interface EntryMetadata {
  kind: EntryKind;
  name: string;
  version: string;
}

/** One stored piece of content, as the catalog remembers it. */
interface ContentRef {
  integrity: string;
  size: number;
  storedAtMs: number;
  /** The wire form, made once: a hot job run looks it up without formatting a date. */
  info?: Readonly<ExecutableInfo>;
}

interface StoredJob {
  /** The version of the manifest stored last. */
  latestVersion: string;
  manifests: Map<string, ContentRef>;
  executables: Map<string, ContentRef>;
}

export interface StoredManifest {
  version: string;
  text: Buffer;
  integrity: string;
}

export function manifestKey(fqName: string, version: string): string {
  return `${fqName}@${version}.manifest.toml`;
}

export function latestManifestKey(fqName: string): string {
  return `${fqName}.manifest.toml`;
}

export function executableKey(fqName: string, version: string): string {
  return `${fqName}@${version}.wasm`;
}

/** `sha256-<base64>` of `bytes`, the form cacache and the API use. */
export function sriOf(bytes: Uint8Array): string {
  return `${ALGORITHM}-${createHash(ALGORITHM).update(bytes).digest('base64')}`;
}

export class Storage {
  private readonly jobs = new Map<string, StoredJob>();
  /** Mutations run one after another, so disk and memory never disagree about their order. */
  private mutationQueue: Promise<unknown> = Promise.resolve();
  private lastStoredAtMs = 0;

  private constructor(
    readonly location: string,
    private readonly log: AgentLog,
  ) {}

  /** Opens (creating if needed) the store in `dir` and loads its catalog. */
  static async open(dir: string, log: AgentLog): Promise<Storage> {
    const storage = new Storage(path.resolve(dir), log);
    await storage.removeInterruptedWrites();
    await storage.loadCatalog();
    return storage;
  }

  // ---- reads (memory) ----

  /** Fully-qualified names, sorted. */
  names(): string[] {
    return [...this.jobs.keys()].sort();
  }

  has(fqName: string): boolean {
    return this.jobs.has(fqName);
  }

  latestVersion(fqName: string): string | undefined {
    return this.jobs.get(fqName)?.latestVersion;
  }

  /** The size of the manifest text of `version` (default: the one stored last); undefined when not stored. */
  manifestSize(fqName: string, version?: string): number | undefined {
    const job = this.jobs.get(fqName);
    return job?.manifests.get(version ?? job.latestVersion)?.size;
  }

  /** The executable of one version, from memory: the hot path of a job run. */
  executable(fqName: string, version: string): ExecutableInfo | undefined {
    const ref = this.jobs.get(fqName)?.executables.get(version);
    return ref && toExecutableInfo(version, ref);
  }

  /** Every executable of `fqName`, newest first; undefined when there is no such manifest. */
  executables(fqName: string): ExecutableInfo[] | undefined {
    const job = this.jobs.get(fqName);
    if (!job) return undefined;
    return [...job.executables]
      .sort(([, a], [, b]) => b.storedAtMs - a.storedAtMs)
      .map(([version, ref]) => toExecutableInfo(version, ref));
  }

  // ---- reads (disk, verified) ----

  /** The manifest text of `version` (default: the one stored last), exactly as it was stored. */
  async readManifest(fqName: string, version?: string): Promise<StoredManifest | undefined> {
    const job = this.jobs.get(fqName);
    const chosen = version ?? job?.latestVersion;
    const ref = chosen === undefined ? undefined : job?.manifests.get(chosen);
    if (!ref || chosen === undefined) return undefined;
    const text = await this.readVerified(ref, `manifest ${fqName} ${chosen}`);
    return { version: chosen, text, integrity: ref.integrity };
  }

  /** The bytes behind `integrity`, verified; throws IntegrityError when they do not match. */
  readExecutable(info: ExecutableInfo, fqName: string): Promise<Buffer> {
    const ref = { integrity: info.integrity, size: info.size, storedAtMs: 0 };
    return this.readVerified(ref, `executable ${fqName} ${info.version}`);
  }

  /**
   * Checks the executable's bytes on disk without holding them in memory, so that a response can
   * stream them afterwards knowing they are intact.
   */
  async verifyExecutable(info: ExecutableInfo, fqName: string): Promise<void> {
    const stream = cacache.get.stream.byDigest(this.location, info.integrity, { size: info.size });
    try {
      // Draining the stream (data dropped) runs cacache's integrity check at its end.
      const ended = stream.promise();
      stream.resume();
      await ended;
    } catch (error) {
      throw this.translateReadError(error, `executable ${fqName} ${info.version}`, info.integrity);
    }
  }

  /** The executable's bytes as a stream (they fail at the end if they changed since verified). */
  executableStream(info: ExecutableInfo): Readable {
    return cacache.get.stream.byDigest(this.location, info.integrity, { size: info.size }) as unknown as Readable;
  }

  // ---- writes ----

  /** Stores the manifest `text` of `version`, which becomes the version stored last. */
  putManifest(fqName: string, version: string, text: Uint8Array): Promise<string> {
    return this.mutate(async () => {
      const meta: EntryMetadata = { kind: 'manifest', name: fqName, version };
      const ref = await this.putContent(manifestKey(fqName, version), text, meta);
      // The pointer is written after the version: an interruption between the two leaves the
      // previous pointer, which still names a complete version.
      await this.putContent(latestManifestKey(fqName), text, { ...meta, kind: 'latest' });
      const job = this.jobs.get(fqName) ?? newJob(version);
      const replaced = job.manifests.get(version);
      job.manifests.set(version, ref);
      job.latestVersion = version;
      this.jobs.set(fqName, job);
      await this.removeUnreferenced(replaced);
      return ref.integrity;
    });
  }

  /** Stores the executable of `version` for an existing manifest; undefined when there is none. */
  putExecutable(fqName: string, version: string, bytes: Uint8Array): Promise<ExecutableInfo | undefined> {
    return this.mutate(async () => {
      if (!this.jobs.has(fqName)) return undefined;
      const meta: EntryMetadata = { kind: 'executable', name: fqName, version };
      const ref = await this.putContent(executableKey(fqName, version), bytes, meta);
      // Looked up again: the manifest may have been deleted while the bytes were written.
      const job = this.jobs.get(fqName);
      if (!job) {
        await this.removeEntries([executableKey(fqName, version)], [ref]);
        return undefined;
      }
      const replaced = job.executables.get(version);
      job.executables.set(version, ref);
      await this.removeUnreferenced(replaced);
      return toExecutableInfo(version, ref);
    });
  }

  /** Deletes the executable of one version; false when there was none. */
  deleteExecutable(fqName: string, version: string): Promise<boolean> {
    return this.mutate(async () => {
      const ref = this.jobs.get(fqName)?.executables.get(version);
      if (!ref) return false;
      this.jobs.get(fqName)?.executables.delete(version);
      await this.removeEntries([executableKey(fqName, version)], [ref]);
      return true;
    });
  }

  /** Deletes a manifest, all its versions and all its executables; false when there was none. */
  deleteJob(fqName: string): Promise<boolean> {
    return this.mutate(async () => {
      const job = this.jobs.get(fqName);
      if (!job) return false;
      this.jobs.delete(fqName);
      // Manifests go first: if this is interrupted, what is left are executables without a
      // manifest, which the next open removes; never a manifest that lost some executables.
      const keys = [
        ...[...job.manifests.keys()].map((version) => manifestKey(fqName, version)),
        latestManifestKey(fqName),
        ...[...job.executables.keys()].map((version) => executableKey(fqName, version)),
      ];
      await this.removeEntries(keys, [...job.manifests.values(), ...job.executables.values()]);
      return true;
    });
  }

  // ---- internals ----

  private mutate<T>(mutation: () => Promise<T>): Promise<T> {
    const result = this.mutationQueue.then(mutation);
    this.mutationQueue = result.catch(() => undefined);
    return result;
  }

  private async putContent(key: string, bytes: Uint8Array, metadata: EntryMetadata): Promise<ContentRef> {
    const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // The same time goes to the index entry and to memory, so a reload lists the same stored_at.
    // Strictly increasing, so "newest first" and "stored last" never depend on a same-ms tie.
    const storedAtMs = Math.max(Date.now(), this.lastStoredAtMs + 1);
    this.lastStoredAtMs = storedAtMs;
    // cacache hashes the data itself; asking for sha256 keeps integrities in the API's form.
    const options: cacache.put.Options & { time: number } = { algorithms: [ALGORITHM], metadata, time: storedAtMs };
    const integrity = await cacache.put(this.location, key, data, options);
    return { integrity: String(integrity), size: data.byteLength, storedAtMs };
  }

  private async readVerified(ref: ContentRef, what: string): Promise<Buffer> {
    try {
      return await cacache.get.byDigest(this.location, ref.integrity, { size: ref.size });
    } catch (error) {
      throw this.translateReadError(error, what, ref.integrity);
    }
  }

  private translateReadError(error: unknown, what: string, integrity: string): Error {
    const code = (error as { code?: unknown }).code;
    // Reads are not queued behind mutations: a delete may remove the bytes between a lookup and
    // its read. The catalog forgets them before the disk does, so that case is told apart here.
    if (code === 'ENOENT' && !this.isReferenced(integrity)) return new ContentGoneError(what);
    if (code === 'EINTEGRITY' || code === 'EBADSIZE' || code === 'ENOENT') {
      this.log('error', 'stored content failed its integrity check; refusing to serve or run it', { what, code });
      return new IntegrityError(what);
    }
    return error instanceof Error ? error : new Error(String(error));
  }

  private async removeEntries(keys: string[], refs: Array<ContentRef | undefined>): Promise<void> {
    for (const key of keys) {
      await cacache.rm.entry(this.location, key);
    }
    for (const ref of refs) {
      await this.removeUnreferenced(ref);
    }
  }

  /** Removes content that no entry of the catalog points to any more (content is shared by hash). */
  private async removeUnreferenced(ref: ContentRef | undefined): Promise<void> {
    if (!ref || this.isReferenced(ref.integrity)) return;
    await cacache.rm.content(this.location, ref.integrity);
  }

  private isReferenced(integrity: string): boolean {
    for (const job of this.jobs.values()) {
      for (const ref of job.manifests.values()) if (ref.integrity === integrity) return true;
      for (const ref of job.executables.values()) if (ref.integrity === integrity) return true;
    }
    return false;
  }

  /** An upload killed mid-write leaves a file in cacache's tmp folder and nothing else: drop it. */
  private async removeInterruptedWrites(): Promise<void> {
    const tmpDir = path.join(this.location, 'tmp');
    const leftovers = await readdir(tmpDir).catch(() => [] as string[]);
    if (leftovers.length === 0) return;
    await rm(tmpDir, { recursive: true, force: true });
    this.log('warn', 'removed files of interrupted writes', { count: leftovers.length, dir: tmpDir });
  }

  private async loadCatalog(): Promise<void> {
    const entries = Object.values(await cacache.ls(this.location));
    const pointers = new Map<string, string>();
    const orphanKeys: string[] = [];
    for (const entry of entries) {
      const meta = entryMetadata(entry);
      if (!meta) {
        this.log('warn', 'ignoring a storage entry this agent did not write', { key: entry.key });
        continue;
      }
      this.lastStoredAtMs = Math.max(this.lastStoredAtMs, entry.time);
      if (meta.kind === 'latest') {
        pointers.set(meta.name, meta.version);
      } else if (await this.contentIsIntact(entry, meta)) {
        this.addLoadedEntry(meta, { integrity: entry.integrity, size: meta.size, storedAtMs: entry.time });
      }
    }
    for (const [name, job] of this.jobs) {
      if (job.manifests.size === 0) {
        orphanKeys.push(...[...job.executables.keys()].map((version) => executableKey(name, version)));
        this.jobs.delete(name);
        continue;
      }
      job.latestVersion = this.chooseLatest(name, job, pointers.get(name));
    }
    await this.removeOrphans(orphanKeys);
    this.log('info', 'storage opened', { location: this.location, manifests: this.jobs.size });
  }

  private addLoadedEntry(meta: LoadedMetadata, ref: ContentRef): void {
    const job = this.jobs.get(meta.name) ?? newJob('');
    (meta.kind === 'manifest' ? job.manifests : job.executables).set(meta.version, ref);
    this.jobs.set(meta.name, job);
  }

  /** The pointer's version if it is intact, else the newest manifest (the pointer was lost). */
  private chooseLatest(name: string, job: StoredJob, pointed: string | undefined): string {
    if (pointed !== undefined && job.manifests.has(pointed)) return pointed;
    const [newest] = [...job.manifests].sort(([, a], [, b]) => b.storedAtMs - a.storedAtMs);
    this.log('warn', 'the manifest stored last is missing; using the newest stored version', {
      name,
      version: newest[0],
    });
    return newest[0];
  }

  /**
   * A listing must never show an entry whose content is missing or damaged. Manifests are small,
   * so their bytes are checked in full; executables are checked by size here (cheap at startup)
   * and in full on every read.
   */
  private async contentIsIntact(entry: cacache.CacheObject, meta: LoadedMetadata): Promise<boolean> {
    try {
      if (meta.kind === 'manifest') {
        await cacache.get.byDigest(this.location, entry.integrity, { size: meta.size });
      } else if ((await stat(entry.path)).size !== meta.size) {
        throw Object.assign(new Error('size differs'), { code: 'EBADSIZE' });
      }
      return true;
    } catch (error) {
      this.log('warn', 'skipping a stored entry whose content is missing or damaged', {
        key: entry.key,
        code: (error as { code?: unknown }).code,
      });
      return false;
    }
  }

  private async removeOrphans(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.removeEntries(keys, []);
    this.log('warn', 'removed executables left without a manifest by an interrupted delete', { keys });
  }
}

function newJob(latestVersion: string): StoredJob {
  return { latestVersion, manifests: new Map(), executables: new Map() };
}

function toExecutableInfo(version: string, ref: ContentRef): ExecutableInfo {
  ref.info ??= { version, integrity: ref.integrity, size: ref.size, stored_at: new Date(ref.storedAtMs).toISOString() };
  return ref.info;
}

/** What loading needs of an index entry: its metadata and the size its index line recorded. */
interface LoadedMetadata extends EntryMetadata {
  size: number;
}

/** The entry's metadata when this agent wrote it and its key matches it (never trust one alone). */
function entryMetadata(entry: cacache.CacheObject): LoadedMetadata | undefined {
  const meta = entry.metadata as Partial<EntryMetadata> | undefined;
  if (typeof meta?.name !== 'string' || typeof meta.version !== 'string' || typeof entry.size !== 'number') {
    return undefined;
  }
  const expectedKey: Record<EntryKind, string> = {
    manifest: manifestKey(meta.name, meta.version),
    latest: latestManifestKey(meta.name),
    executable: executableKey(meta.name, meta.version),
  };
  if (meta.kind === undefined || expectedKey[meta.kind] !== entry.key) return undefined;
  return { kind: meta.kind, name: meta.name, version: meta.version, size: entry.size };
}
