/**
 * The local backend: one folder on this machine's disk, owned by one agent at a time (agentLock).
 *
 *   <folder>/content-v2/sha256/…   blobs, cacache's content layout, addressed by their integrity
 *   <folder>/catalog-v1.jsonl      the catalog: a journal of changes (journal.ts), compacted
 *   <folder>/tmp/                  uploads being written (this agent's own: it holds the lock)
 *   <folder>/agent.lock            which agent owns the folder, and where it listens
 *
 * A change goes to disk first, fsync'd, and to the in-memory catalog after, one change at a time:
 * the blob (written to tmp while it is hashed, fsync'd, renamed into place), then its journal line
 * (fsync'd). A failure at any step leaves the catalog as it was and no blob of its own behind.
 * Reads are served from memory and verified against the integrity on every read of the bytes.
 * A store of agent 0.1 (cacache's index) is read once and carried over to the journal.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';

import * as cacache from 'cacache';

import type { ExecutableInfo } from '../../api/contract';
import type { AgentLog } from '../types';
import { AgentLock } from './agentLock';
import { Catalog, type BlobRef } from './catalog';
import {
  ContentGoneError,
  IntegrityError,
  IntegrityMismatchError,
  StorageError,
  checkUpload,
  type BlobInfo,
  type BlobKind,
  type JobStore,
  type PutOptions,
  type StoreStatus,
  type StoredManifest,
  type UploadBody,
} from './contract';
import { isErrno, makeDirs, storageFailure, syncDir, writeHashed } from './durable';
import { Journal, apply, putRecord, type JournalRecord } from './journal';
import { importLegacyIndex } from './legacyIndex';

/** Compact when the journal holds more than this many lines beyond twice the live entries. */
const COMPACT_SLACK_LINES = 1_000;

export class LocalJobStore implements JobStore {
  readonly backend = 'local';
  private mutationQueue: Promise<unknown> = Promise.resolve();
  private lastStoredAtMs: number;
  /** False when the journal has lines it could not read: compaction would drop them. */
  private compactable: boolean;

  private constructor(
    readonly location: string,
    private readonly log: AgentLog,
    private readonly catalog: Catalog,
    private readonly journal: Journal,
    private readonly lock: AgentLock,
    lastStoredAtMs: number,
    compactable: boolean,
  ) {
    this.lastStoredAtMs = lastStoredAtMs;
    this.compactable = compactable;
  }

  /**
   * Opens (creating if needed) the store in `dir`: takes its lock (StoreInUseError when another
   * agent runs on it), reads its catalog, checks its content, compacts its journal when worth it.
   * A folder that cannot be used is a StorageError naming why.
   */
  static async open(dir: string, log: AgentLog): Promise<LocalJobStore> {
    const location = path.resolve(dir);
    try {
      await makeDirs(location);
    } catch (error) {
      throw startFailure(error, location);
    }
    const lock = await AgentLock.acquire(location).catch((error: unknown) => {
      throw isErrno(error) ? startFailure(error, location) : error;
    });
    try {
      return await LocalJobStore.load(location, log, lock);
    } catch (error) {
      await lock.release().catch(() => undefined);
      throw isErrno(error) ? startFailure(error, location) : error;
    }
  }

  private static async load(location: string, log: AgentLog, lock: AgentLock): Promise<LocalJobStore> {
    // Ours alone (we hold the lock): whatever is here was left by a killed upload of this store.
    await removeInterruptedUploads(location, log);
    const { journal, loaded } = await Journal.open(location);
    if (loaded.tornBytes > 0) log('warn', 'cut off the unfinished last line of the catalog (a change interrupted before it was acknowledged)', { bytes: loaded.tornBytes });
    if (loaded.unreadable > 0) {
      log('error', 'the catalog has lines that cannot be read; they are kept, and the catalog is not compacted', { lines: loaded.unreadable });
    }
    let lastAtMs = loaded.lastAtMs;
    if (loaded.lines === 0) {
      const imported = await importLegacyIndex(location, log);
      if (imported.length > 0) {
        await journal.append(imported);
        for (const record of imported) apply(loaded.catalog, record);
        lastAtMs = Math.max(lastAtMs, ...imported.map((record) => (record.op === 'put' ? record.at : 0)));
      }
    }
    const store = new LocalJobStore(location, log, loaded.catalog, journal, lock, lastAtMs, loaded.unreadable === 0);
    await store.checkContent();
    if (store.compactable && journal.lines > 2 * store.catalog.size) {
      const before = journal.lines;
      await journal.compact(store.catalog);
      log('info', 'compacted the catalog', { lines_before: before, lines_after: journal.lines });
    }
    log('info', 'storage opened', { location, manifests: store.catalog.names().length, damaged: store.catalog.damaged().length });
    return store;
  }

  /** Tells windows and tools where this store's agent listens (written into agent.lock). */
  advertise(url: string, token: string | undefined): Promise<void> {
    return this.lock.advertise(url, token);
  }

  // ---- catalog (memory) ----

  async names(): Promise<string[]> {
    return this.catalog.names();
  }

  async has(name: string): Promise<boolean> {
    return this.catalog.has(name);
  }

  async defaultVersion(name: string): Promise<string | undefined> {
    return this.catalog.defaultVersion(name);
  }

  async versions(name: string): Promise<ExecutableInfo[] | undefined> {
    return this.catalog.versions(name);
  }

  async executable(name: string, version: string): Promise<ExecutableInfo | undefined> {
    return this.catalog.executable(name, version);
  }

  async manifestInfo(name: string, version?: string): Promise<(BlobInfo & { version: string }) | undefined> {
    const ref = this.catalog.manifest(name, version);
    return ref && { version: ref.version, integrity: ref.integrity, size: ref.size };
  }

  async filesInfo(name: string, version: string): Promise<BlobInfo | undefined> {
    const ref = this.catalog.files(name, version);
    return ref && { integrity: ref.integrity, size: ref.size };
  }

  // ---- reads (disk, verified) ----

  async readManifest(name: string, version?: string): Promise<StoredManifest | undefined> {
    const ref = this.catalog.manifest(name, version);
    if (!ref) return undefined;
    const text = await this.readVerified(ref, `manifest ${name} ${ref.version}`);
    return { version: ref.version, text, integrity: ref.integrity, size: ref.size };
  }

  readExecutable(name: string, info: ExecutableInfo): Promise<Buffer> {
    return this.readVerified(info, `executable ${name} ${info.version}`);
  }

  async streamExecutable(name: string, info: ExecutableInfo): Promise<Readable> {
    const what = `executable ${name} ${info.version}`;
    const check = cacache.get.stream.byDigest(this.location, info.integrity, { size: info.size });
    try {
      // Draining the stream (data dropped) runs cacache's integrity check at its end.
      const ended = check.promise();
      check.resume();
      await ended;
    } catch (error) {
      throw this.readFailure(error, what, info.integrity);
    }
    return cacache.get.stream.byDigest(this.location, info.integrity, { size: info.size }) as unknown as Readable;
  }

  async readFiles(name: string, version: string): Promise<Buffer | undefined> {
    const ref = this.catalog.files(name, version);
    return ref && this.readVerified(ref, `files of ${name} ${version}`);
  }

  // ---- writes ----

  putManifest(name: string, version: string, text: Uint8Array): Promise<string> {
    return this.mutate(async () => {
      const doing = `store the manifest of ${name} ${version}`;
      const staged = await this.stage(text, {}, doing);
      try {
        const blob = await this.place(staged, doing);
        await this.commitPut('manifest', name, version, blob);
        return blob.integrity;
      } finally {
        await fs.rm(staged.temp, { force: true }).catch(() => undefined);
      }
    });
  }

  putExecutable(name: string, version: string, body: UploadBody, options: PutOptions = {}): Promise<ExecutableInfo | undefined> {
    // Not queued while the upload streams in: only its commit waits for the changes before it.
    return this.putBlob('executable', name, version, body, options).then((stored) =>
      stored ? this.catalog.executable(name, version) : undefined,
    );
  }

  async putFiles(name: string, version: string, body: UploadBody, options: PutOptions = {}): Promise<BlobInfo | undefined> {
    return (await this.putBlob('files', name, version, body, options)) ? this.filesInfo(name, version) : undefined;
  }

  deleteExecutable(name: string, version: string): Promise<boolean> {
    return this.deleteBlob('executable', name, version);
  }

  deleteFiles(name: string, version: string): Promise<boolean> {
    return this.deleteBlob('files', name, version);
  }

  deleteJob(name: string): Promise<boolean> {
    return this.mutate(async () => {
      if (!this.catalog.has(name) && this.catalog.damaged().every((report) => report.name !== name)) return false;
      await this.appendOrFail([{ op: 'del-job', name }], `delete ${name}`);
      const removed = this.catalog.removeJob(name);
      await this.removeUnreferenced(removed.map(({ ref }) => ref));
      return true;
    });
  }

  // ---- health ----

  async status(): Promise<StoreStatus> {
    return { backend: this.backend, location: this.location, damaged: this.catalog.damaged() };
  }

  async close(): Promise<void> {
    await this.mutationQueue;
    await this.lock.release().catch(() => undefined);
  }

  // ---- internals ----

  private mutate<T>(mutation: () => Promise<T>): Promise<T> {
    const result = this.mutationQueue.then(mutation);
    this.mutationQueue = result.catch(() => undefined);
    return result;
  }

  /** Stages the upload while it streams in, then places and commits it in turn; false when the job is not listed. */
  private async putBlob(kind: BlobKind, name: string, version: string, body: UploadBody, options: PutOptions): Promise<boolean> {
    if (!this.catalog.has(name)) return false;
    const doing = `store the ${kind} of ${name} ${version}`;
    const staged = await this.stage(body, options, doing);
    try {
      return await this.mutate(async () => {
        // Looked up again: the job may have been deleted while the bytes came in.
        if (!this.catalog.has(name)) return false;
        await this.commitPut(kind, name, version, await this.place(staged, doing));
        return true;
      });
    } finally {
      await fs.rm(staged.temp, { force: true }).catch(() => undefined);
    }
  }

  /**
   * The upload hashed while written to tmp, then checked (announced integrity, beforeCommit) while
   * it is fsync'd. Its temp file is removed when anything fails.
   */
  private async stage(body: UploadBody, options: PutOptions, doing: string): Promise<BlobInfo & { temp: string }> {
    const tmpDir = path.join(this.location, 'tmp');
    const temp = path.join(tmpDir, randomUUID());
    try {
      await makeDirs(tmpDir);
      const whileSyncing = (written: BlobInfo): Promise<void> => checkUpload({ ...written, file: temp }, options);
      const blob = await writeHashed(temp, body, { durable: true, whileSyncing });
      return { ...blob, temp };
    } catch (error) {
      throw this.writeFailure(error, doing);
    }
  }

  /**
   * Renames a staged blob to its content file (in the mutation queue: a delete cannot remove
   * shared content in between) and checks it is there. A new file is removed again on failure.
   */
  private async place(staged: BlobInfo & { temp: string }, doing: string): Promise<BlobInfo & { fresh: boolean }> {
    const target = contentFile(this.location, staged.integrity);
    const fresh = !(await exists(target));
    try {
      await makeDirs(path.dirname(target));
      await fs.rename(staged.temp, target);
      await syncDir(path.dirname(target));
      // Read back: the acknowledgement promises bytes a read will find.
      if ((await fs.stat(target)).size !== staged.size) throw new Error('the stored file has the wrong size after writing it');
    } catch (error) {
      if (fresh) await fs.rm(target, { force: true }).catch(() => undefined);
      throw this.writeFailure(error, doing);
    }
    return { integrity: staged.integrity, size: staged.size, fresh };
  }

  /** Journal first, memory after; a failed journal write removes the blob if it was new. */
  private async commitPut(kind: BlobKind, name: string, version: string, blob: BlobInfo & { fresh: boolean }): Promise<void> {
    const ref: BlobRef = { integrity: blob.integrity, size: blob.size, storedAtMs: this.nextStoredAt() };
    try {
      await this.appendOrFail([putRecord(kind, name, version, ref)], `store the ${kind} of ${name} ${version}`);
    } catch (error) {
      if (blob.fresh && !this.catalog.isReferenced(blob.integrity)) {
        await fs.rm(contentFile(this.location, blob.integrity), { force: true }).catch(() => undefined);
      }
      throw error;
    }
    const replaced = this.catalog.ref(kind, name, version);
    this.catalog.set(kind, name, version, ref);
    // Stored again, the bytes are whole again wherever they were shared.
    this.catalog.markDamage(blob.integrity, undefined);
    if (replaced) await this.removeUnreferenced([replaced]);
  }

  private deleteBlob(kind: BlobKind, name: string, version: string): Promise<boolean> {
    return this.mutate(async () => {
      const ref = this.catalog.ref(kind, name, version);
      if (!ref) return false;
      await this.appendOrFail([{ op: 'del', kind, name, version }], `delete the ${kind} of ${name} ${version}`);
      this.catalog.remove(kind, name, version);
      await this.removeUnreferenced([ref]);
      return true;
    });
  }

  private async appendOrFail(records: JournalRecord[], doing: string): Promise<void> {
    try {
      await this.journal.append(records);
    } catch (error) {
      throw this.writeFailure(error, doing);
    }
    await this.compactIfWorthIt();
  }

  private async compactIfWorthIt(): Promise<void> {
    if (!this.compactable || this.journal.lines <= 2 * this.catalog.size + COMPACT_SLACK_LINES) return;
    try {
      await this.journal.compact(this.catalog);
    } catch (error) {
      // The journal as it was is intact (the rewrite is atomic): only space is wasted.
      this.log('warn', 'could not compact the catalog; will try again later', { error: String(error) });
    }
  }

  /** Removes content files no entry points to any more (content is shared by hash); best effort. */
  private async removeUnreferenced(refs: readonly BlobInfo[]): Promise<void> {
    for (const ref of refs) {
      if (this.catalog.isReferenced(ref.integrity)) continue;
      await fs.rm(contentFile(this.location, ref.integrity), { force: true }).catch((error: unknown) => {
        this.log('warn', 'could not remove content nothing refers to any more', { integrity: ref.integrity, error: String(error) });
      });
    }
  }

  private nextStoredAt(): number {
    // Strictly increasing, so "newest first" and "became complete last" never tie within one store.
    this.lastStoredAtMs = Math.max(Date.now(), this.lastStoredAtMs + 1);
    return this.lastStoredAtMs;
  }

  private async readVerified(ref: BlobInfo, what: string): Promise<Buffer> {
    try {
      return await cacache.get.byDigest(this.location, ref.integrity, { size: ref.size });
    } catch (error) {
      throw this.readFailure(error, what, ref.integrity);
    }
  }

  private readFailure(error: unknown, what: string, integrity: string): Error {
    const code = (error as { code?: unknown }).code;
    // Reads are not queued behind changes: a delete may remove the bytes between a lookup and its
    // read. The catalog forgets them before the file goes, so that case is told apart here.
    if (code === 'ENOENT' && !this.catalog.isReferenced(integrity)) return new ContentGoneError(what);
    if (code === 'EINTEGRITY' || code === 'EBADSIZE' || code === 'ENOENT') {
      const problem = code === 'ENOENT' ? 'content file is missing' : 'content does not match its integrity';
      this.catalog.markDamage(integrity, problem);
      this.log('error', 'stored content failed its integrity check; it is kept out of service, not deleted', { what, integrity, problem });
      return new IntegrityError(what);
    }
    return storageFailure(error, this.location, `read the ${what}`);
  }

  private writeFailure(error: unknown, doing: string): Error {
    if (error instanceof IntegrityMismatchError || !isErrno(error)) return error as Error;
    const failure = storageFailure(error, this.location, doing);
    this.log('error', 'a change could not be stored; nothing of it was kept', { doing, error: failure.message });
    return failure;
  }

  /**
   * A listing must never show what cannot be served. Manifests are small: checked in full.
   * Executables and files archives are checked by size (cheap at start) and in full on every read.
   * Damage is reported and kept out of service, never deleted.
   */
  private async checkContent(): Promise<void> {
    const checked = new Map<string, string | undefined>();
    for (const { kind, name, version, ref } of [...this.catalog.entries()]) {
      const key = `${kind === 'manifest' ? 'full' : 'size'} ${ref.integrity}`;
      if (!checked.has(key)) checked.set(key, await this.problemOf(ref, kind === 'manifest'));
      const problem = checked.get(key);
      if (problem === undefined) continue;
      ref.damage = problem;
      this.log('error', 'stored content is damaged; it is kept out of service, not deleted: store it again or delete it', {
        name,
        version,
        kind,
        integrity: ref.integrity,
        problem,
      });
    }
  }

  private async problemOf(ref: BlobRef, full: boolean): Promise<string | undefined> {
    try {
      if (full) await cacache.get.byDigest(this.location, ref.integrity, { size: ref.size });
      else if ((await fs.stat(contentFile(this.location, ref.integrity))).size !== ref.size) return 'content file has the wrong size';
      return undefined;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'ENOENT') return 'content file is missing';
      if (code === 'EINTEGRITY' || code === 'EBADSIZE') return 'content does not match its integrity';
      throw error;
    }
  }
}

async function removeInterruptedUploads(location: string, log: AgentLog): Promise<void> {
  const tmpDir = path.join(location, 'tmp');
  const leftovers = await fs.readdir(tmpDir).catch(() => [] as string[]);
  if (leftovers.length === 0) return;
  await fs.rm(tmpDir, { recursive: true, force: true });
  log('warn', 'removed files of interrupted uploads', { count: leftovers.length, dir: tmpDir });
}

function startFailure(error: unknown, location: string): StorageError {
  const failure = storageFailure(error, location, 'open the store');
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new StorageError(500, `cannot use ${location} as the storage folder: it cannot be created (${code}); pick another with --storage`);
  }
  return failure;
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

/**
 * The content file of an integrity, in cacache's layout (content-v2/sha256/ab/cd/ef…), so cacache's
 * verified readers serve it and stores of agent 0.1 keep their content where it is.
 */
export function contentFile(location: string, integrity: string): string {
  const dash = integrity.indexOf('-');
  const hex = Buffer.from(integrity.slice(dash + 1).split(/\s/)[0] ?? '', 'base64').toString('hex');
  return path.join(location, 'content-v2', integrity.slice(0, dash), hex.slice(0, 2), hex.slice(2, 4), hex.slice(4));
}
