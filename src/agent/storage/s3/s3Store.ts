/**
 * The S3 backend of the storage contract (`serval agent --storage s3://BUCKET[/PREFIX]`): many
 * agents, one bucket, one catalogue.
 *
 * Layout under PREFIX (nothing is ever updated in place):
 *   blobs/sha256/<hex>            manifest texts, executables, files archives, by content
 *   catalog/<inverted gen>.json   the index: name → version → {manifest, executable, files}
 *                                 → {integrity, size, stored_at}, one object per generation
 *
 * Consistency (docs/scaling.md): a change through an agent is seen by that agent at once (its
 * catalog is the generation it just wrote) and by every other agent within REFRESH_MS plus one
 * round trip, because each agent polls the newest generation (one LIST of one key). A lookup that
 * misses (unknown name, version or blob) consults the bucket before answering "not stored", so a
 * publish whose manifest and executable went to different agents behind a balancer works at once.
 * Atomic publish holds across agents: the default version is computed from the shared index by
 * the contract's rule, and a version becomes complete in one index write.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';

import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';

import type { ExecutableInfo } from '../../../api/contract';
import type { AgentLog } from '../../types';
import { Catalog, type BlobRef as CatalogRef } from '../catalog';
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
  type StoredManifest,
  type StoreStatus,
  type UploadBody,
} from '../contract';
import { BlobDamagedError, BlobStore, sha256Sri, type BlobSource } from './blobs';
import { isErrno, makeDirs, storageFailure, writeHashed } from '../durable';
import { processRuns } from '../agentLock';
import { describeLocation, makeS3Client, s3Settings, type S3Settings } from './config';
import { StoreCredentialsError, StoreUnavailableError, httpStatusOf, translateS3Error } from './errors';
import { IndexObject, Unchanged, type BlobRef, type CatalogDocument } from './indexObject';

/** How often every agent looks for another agent's changes: the consistency bound, less one round trip. */
export const REFRESH_MS = 250;

/** Uploads being received, under this agent's cache folder: `<pid>-<uuid>`. */
const SPOOL_DIR = 'uploads';

export interface S3StoreOptions {
  /** The environment the AWS variables are read from (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** `--s3-endpoint`: overrides AWS_ENDPOINT_URL. */
  endpoint?: string;
  /** This agent's read-through cache of blobs (default: a temporary folder removed on close). */
  cacheDir?: string;
  /** Default REFRESH_MS. */
  refreshMs?: number;
}

export async function openS3Store(url: string, log: AgentLog, options: S3StoreOptions = {}): Promise<S3Store> {
  let settings: S3Settings;
  try {
    settings = s3Settings(url, options.env ?? process.env, options.endpoint);
  } catch (error) {
    throw new StorageError(400, (error as Error).message);
  }
  const ownCache = options.cacheDir === undefined;
  const cacheDir = options.cacheDir ?? (await mkdtemp(path.join(os.tmpdir(), 'serval-s3-cache-')));
  const store = new S3Store(settings, makeS3Client(settings), cacheDir, ownCache, log, options.refreshMs ?? REFRESH_MS);
  try {
    await store.start();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

export class S3Store implements JobStore {
  readonly backend = 's3';
  readonly location: string;
  /** The store as error messages name it: its endpoint. */
  private readonly where: string;
  private readonly index: IndexObject;
  private readonly blobs: BlobStore;
  /** The contract's catalog, rebuilt from the index generation it was made of. */
  private view = new Catalog();
  private viewGeneration = -1;
  /** integrity → problem, as this agent found it; applied to every rebuilt view. */
  private readonly damage = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private unreachableSince: number | undefined;
  private lastStoredAtMs = 0;

  constructor(
    private readonly settings: S3Settings,
    private readonly client: S3Client,
    private readonly cacheDir: string,
    private readonly ownCache: boolean,
    private readonly log: AgentLog,
    private readonly refreshMs: number,
  ) {
    this.location = describeLocation(settings);
    this.where = settings.endpoint ?? `AWS S3 (${settings.region})`;
    this.index = new IndexObject(client, settings.bucket, settings.prefix, this.where, log);
    this.blobs = new BlobStore(client, settings.bucket, settings.prefix, cacheDir, this.where, log);
  }

  /** Checks the bucket (creating it when missing), loads the index and starts following it. */
  async start(): Promise<void> {
    await this.ensureBucket();
    await this.s3(() => this.index.refresh());
    this.syncView();
    await this.verifyManifests();
    await removeDeadSpools(path.join(this.cacheDir, SPOOL_DIR), this.log);
    this.timer = setInterval(() => void this.poll(), this.refreshMs);
    this.timer.unref();
    this.log('info', 'storage opened', { location: this.location, manifests: this.view.names().length, cache: this.cacheDir });
  }

  // ---- catalog ----

  async names(): Promise<string[]> {
    await this.revalidate();
    return this.view.names();
  }

  async has(name: string): Promise<boolean> {
    return this.lookup(() => this.view.has(name));
  }

  async defaultVersion(name: string): Promise<string | undefined> {
    return this.lookup(() => this.view.defaultVersion(name));
  }

  async versions(name: string): Promise<ExecutableInfo[] | undefined> {
    await this.revalidate();
    return this.view.versions(name);
  }

  async executable(name: string, version: string): Promise<ExecutableInfo | undefined> {
    return this.lookup(() => this.view.executable(name, version));
  }

  /** On the hot path (every run reads its manifest's defaults): from memory, the bucket on a miss. */
  async manifestInfo(name: string, version?: string): Promise<(BlobInfo & { version: string }) | undefined> {
    // A version known by its executable but without a manifest of its own has none: no need to ask.
    const known = (): boolean => version !== undefined && this.view.executable(name, version) !== undefined;
    const ref = await this.lookup(() => this.view.manifest(name, version) ?? (known() ? null : undefined));
    return ref ? { integrity: ref.integrity, size: ref.size, version: ref.version } : undefined;
  }

  // ---- reads ----

  async readManifest(name: string, version?: string): Promise<StoredManifest | undefined> {
    await this.revalidate();
    const info = await this.manifestInfo(name, version);
    if (!info) return undefined;
    const text = await this.readBlob(info, 'manifest', name, info.version);
    return { ...info, text };
  }

  readExecutable(name: string, info: ExecutableInfo): Promise<Buffer> {
    return this.readBlob(info, 'executable', name, info.version);
  }

  async streamExecutable(name: string, info: ExecutableInfo): Promise<Readable> {
    return Readable.from([await this.readExecutable(name, info)]);
  }

  // ---- writes ----

  async putManifest(name: string, version: string, text: Uint8Array): Promise<string> {
    const blob = { integrity: sha256Sri(text), size: text.byteLength };
    await this.storeBlob(blob, text);
    await this.changeIndex((doc) => {
      setRef(doc, name, version, 'manifest', this.refOf(blob));
    });
    await this.confirmBlob(blob, text);
    this.setDamage(blob.integrity, undefined);
    return blob.integrity;
  }

  putExecutable(name: string, version: string, body: UploadBody, options?: PutOptions): Promise<ExecutableInfo | undefined> {
    // The catalog's wire form: with the version's files archive, when it has one.
    return this.putVersionBlob('executable', name, version, body, options).then((ref) => ref && this.view.executable(name, version));
  }

  async putFiles(name: string, version: string, body: UploadBody, options?: PutOptions): Promise<BlobInfo | undefined> {
    const ref = await this.putVersionBlob('files', name, version, body, options);
    return ref && { integrity: ref.integrity, size: ref.size };
  }

  async filesInfo(name: string, version: string): Promise<BlobInfo | undefined> {
    // A version this agent knows without a files archive has none: no need to ask the bucket.
    const known = (): boolean => this.view.executable(name, version) !== undefined || this.view.manifest(name, version) !== undefined;
    const ref = await this.lookup(() => this.view.files(name, version) ?? (known() ? null : undefined));
    if (!ref) return undefined;
    return { integrity: ref.integrity, size: ref.size };
  }

  async readFiles(name: string, version: string): Promise<Buffer | undefined> {
    const info = await this.filesInfo(name, version);
    return info && this.readBlob(info, 'files', name, version);
  }

  deleteExecutable(name: string, version: string): Promise<boolean> {
    return this.deleteKind('executable', name, version);
  }

  deleteFiles(name: string, version: string): Promise<boolean> {
    return this.deleteKind('files', name, version);
  }

  async deleteJob(name: string): Promise<boolean> {
    if (!(await this.has(name))) return false;
    const removed = await this.changeIndex((doc) => {
      const job = doc.jobs[name];
      if (!job) return new Unchanged<BlobRef[] | undefined>(undefined);
      delete doc.jobs[name];
      return Object.values(job).flatMap((entry) => Object.values(entry ?? {}).filter(isRef));
    });
    if (!removed) return false;
    await this.removeUnreferenced(removed);
    return true;
  }

  // ---- health ----

  async status(): Promise<StoreStatus & Record<string, unknown>> {
    return {
      backend: this.backend,
      location: this.location,
      damaged: this.view.damaged(),
      index_generation: this.index.current.generation,
      refreshed_ms_ago: Date.now() - this.index.lastConfirmedAtMs,
      reachable: this.unreachableSince === undefined,
    };
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.client.destroy();
    if (this.ownCache) await rm(this.cacheDir, { recursive: true, force: true });
  }

  // ---- internals ----

  /**
   * The hot path's answer (runs): from the index as last refreshed (at most REFRESH_MS old); when
   * it is "not stored", the bucket is asked first (another agent may have just stored it), so a
   * miss is never only this agent's lag.
   */
  private async lookup<T>(answer: () => T): Promise<T> {
    const first = answer();
    // undefined and false mean "not known here"; null means "known: there is none".
    if (first !== undefined && first !== false) return first;
    await this.s3(() => this.index.refreshSinceNow());
    this.syncView();
    return answer();
  }

  /**
   * Listings and manifest reads see every change acknowledged before they were asked (one LIST of
   * one key). While the store is unreachable they answer from what this agent knows, and the
   * status route says so (`reachable: false`).
   */
  private async revalidate(): Promise<void> {
    try {
      await this.s3(() => this.index.refreshSinceNow());
      this.syncView();
      this.noteReachable();
    } catch (error) {
      if (!(error instanceof StorageError) || error.status !== 503) throw error;
      this.noteUnreachable(error);
    }
  }

  private noteReachable(): void {
    if (this.unreachableSince === undefined) return;
    this.log('info', 'the object store answers again', { location: this.location, down_ms: Date.now() - this.unreachableSince });
    this.unreachableSince = undefined;
  }

  private noteUnreachable(error: Error): void {
    if (this.unreachableSince !== undefined) return;
    this.unreachableSince = Date.now();
    this.log('warn', 'cannot refresh the catalog; serving what this agent knows and caches until the store answers', {
      error: error.message,
    });
  }

  private async poll(): Promise<void> {
    try {
      await this.index.refresh();
      this.syncView();
      this.noteReachable();
    } catch (error) {
      this.noteUnreachable(translateS3Error(error, this.where));
    }
  }

  /** Rebuilds the contract's catalog when the index generation changed. */
  private syncView(): void {
    const doc = this.index.current;
    if (doc.generation === this.viewGeneration) return;
    const view = new Catalog();
    for (const [name, versions] of Object.entries(doc.jobs)) {
      for (const [version, entry] of Object.entries(versions)) {
        for (const [kind, ref] of Object.entries(entry ?? {})) {
          if (isRef(ref)) view.set(kind as BlobKind, name, version, toCatalogRef(ref));
        }
      }
    }
    for (const [integrity, problem] of this.damage) {
      if (view.isReferenced(integrity)) view.markDamage(integrity, problem);
      else this.damage.delete(integrity);
    }
    this.view = view;
    this.viewGeneration = doc.generation;
  }

  /** Damage found (problem) or healed (undefined): kept out of listings, named by status(). */
  private setDamage(integrity: string, problem: string | undefined): void {
    if (problem === undefined) this.damage.delete(integrity);
    else this.damage.set(integrity, problem);
    this.view.markDamage(integrity, problem);
  }

  /**
   * At start every manifest is read once (they are small): a job whose manifest is damaged in the
   * bucket is out of service and reported from the first listing, as on a local store.
   */
  private async verifyManifests(): Promise<void> {
    const manifests = new Map<string, { name: string; version: string; ref: BlobRef }>();
    for (const [name, versions] of Object.entries(this.index.current.jobs)) {
      for (const [version, entry] of Object.entries(versions)) {
        if (entry?.manifest) manifests.set(entry.manifest.integrity, { name, version, ref: entry.manifest });
      }
    }
    const queue = [...manifests.values()];
    const worker = async (): Promise<void> => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        await this.readBlob(next.ref, 'manifest', next.name, next.version).catch((error: unknown) => {
          if (!(error instanceof IntegrityError) && !(error instanceof ContentGoneError)) throw error;
        });
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  }

  /**
   * A streamed upload is spooled to this agent's disk while it is hashed (its key in the bucket is
   * its hash, known only at its end) and checked, then streamed from there to the bucket: hashed
   * once, never held whole in memory. Bytes already in memory with no check to run on a file (a
   * files archive the route has read and checked) go to the bucket as they are.
   */
  private async putVersionBlob(
    kind: BlobKind,
    name: string,
    version: string,
    body: UploadBody,
    options: PutOptions = {},
  ): Promise<BlobRef | undefined> {
    if (body instanceof Uint8Array && !options.beforeCommit) {
      const blob = { integrity: sha256Sri(body), size: body.byteLength };
      if (options.expectedIntegrity !== undefined && options.expectedIntegrity !== blob.integrity) {
        throw new IntegrityMismatchError(options.expectedIntegrity, blob.integrity);
      }
      return this.storeVersionBlob(kind, name, version, blob, body);
    }
    // Named by this process: an agent killed mid-upload leaves its spool for the next start to remove.
    const spool = path.join(this.cacheDir, SPOOL_DIR, `${process.pid}-${randomUUID()}`);
    const whileSyncing = (written: BlobInfo): Promise<void> => checkUpload({ ...written, file: spool }, options);
    let blob: BlobInfo;
    try {
      await makeDirs(path.dirname(spool));
      // Not fsync'd: the bucket keeps the upload, the spool only feeds it.
      blob = await writeHashed(spool, body, { durable: false, whileSyncing });
    } catch (error) {
      throw isErrno(error) ? storageFailure(error, this.cacheDir, `take the upload of the ${kind} of ${name} ${version}`) : error;
    }
    try {
      return await this.storeVersionBlob(kind, name, version, blob, { file: spool, size: blob.size });
    } finally {
      await rm(spool, { force: true });
    }
  }

  /** Puts a staged blob in the bucket and names it in the index, if the job is still listed. */
  private async storeVersionBlob(kind: BlobKind, name: string, version: string, blob: BlobInfo, source: BlobSource): Promise<BlobRef | undefined> {
    if (!(await this.has(name))) return undefined;
    await this.storeBlob(blob, source);
    const ref = this.refOf(blob);
    const stored = await this.changeIndex((doc) => {
      // Looked up in the newest index: the job may have been deleted through another agent meanwhile.
      if (!doc.jobs[name]) return new Unchanged<BlobRef | undefined>(undefined);
      setRef(doc, name, version, kind, ref);
      return ref;
    });
    if (!stored) return undefined;
    await this.confirmBlob(blob, source);
    this.setDamage(blob.integrity, undefined);
    return stored;
  }

  private async deleteKind(kind: BlobKind, name: string, version: string): Promise<boolean> {
    const removed = await this.changeIndex((doc) => {
      const entry = doc.jobs[name]?.[version];
      const ref = entry?.[kind];
      if (!entry || !ref) return new Unchanged<BlobRef | undefined>(undefined);
      delete entry[kind];
      if (Object.keys(entry).length === 0) delete doc.jobs[name][version];
      return ref;
    });
    if (!removed) return false;
    await this.removeUnreferenced([removed]);
    return true;
  }

  private async changeIndex<T>(change: (doc: CatalogDocument) => T | Unchanged<T>): Promise<T> {
    const result = await this.s3(() => this.index.change(change));
    this.syncView();
    return result;
  }

  private storeBlob(blob: BlobInfo, source: BlobSource): Promise<void> {
    return this.s3(() => this.blobs.put(blob.integrity, source));
  }

  /**
   * After the index names a blob: make sure the bucket still holds it. An agent deleting the last
   * other reference to the same bytes may have removed them between our upload and our index write.
   */
  private async confirmBlob(blob: BlobInfo, source: BlobSource): Promise<void> {
    if (!(await this.s3(() => this.blobs.exists(blob.integrity)))) await this.storeBlob(blob, source);
  }

  /** Removes blobs the newest index no longer names (content is shared by hash). */
  private async removeUnreferenced(refs: BlobRef[]): Promise<void> {
    for (const ref of refs) {
      if (this.view.isReferenced(ref.integrity)) continue;
      await this.blobs.delete(ref.integrity).catch((error: unknown) =>
        // The index no longer names it: a leftover blob costs space, never correctness.
        this.log('warn', 'could not remove an unreferenced blob from the bucket', { integrity: ref.integrity, error: String(error) }),
      );
    }
  }

  private async readBlob(blob: BlobInfo, kind: BlobKind, name: string, version: string): Promise<Buffer> {
    const what = `${kind} of '${name}' version '${version}'`;
    try {
      const bytes = await this.s3(() => this.blobs.get(blob.integrity, blob.size));
      // Intact again (stored again through some agent): no longer damage.
      if (this.damage.has(blob.integrity)) this.setDamage(blob.integrity, undefined);
      return bytes;
    } catch (error) {
      if (!(error instanceof BlobDamagedError)) throw error;
      // Missing because it was deleted (through any agent) since the lookup: not damage.
      await this.index.refresh().catch(() => undefined);
      this.syncView();
      if (!this.view.isReferenced(blob.integrity)) throw new ContentGoneError(what);
      this.setDamage(blob.integrity, error.message);
      throw new IntegrityError(what);
    }
  }

  /** Stored-at times strictly increase per agent, so "stored last" never depends on a same-ms tie. */
  private refOf(blob: BlobInfo): BlobRef {
    const storedAtMs = Math.max(Date.now(), this.lastStoredAtMs + 1);
    this.lastStoredAtMs = storedAtMs;
    return { integrity: blob.integrity, size: blob.size, stored_at: new Date(storedAtMs).toISOString() };
  }

  /** Runs an S3 operation, turning its failures into the contract's StorageError (503, 403). */
  private async s3<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof BlobDamagedError || error instanceof StorageError) throw error;
      const translated = translateS3Error(error, this.where);
      if (translated instanceof StoreUnavailableError || translated instanceof StoreCredentialsError) {
        throw new StorageError(translated.status, translated.message);
      }
      throw translated;
    }
  }

  private async ensureBucket(): Promise<void> {
    const bucket = this.settings.bucket;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: bucket }));
      return;
    } catch (error) {
      if (httpStatusOf(error) !== 404) {
        await this.s3(() => Promise.reject(error));
      }
    }
    await this.s3(() => this.client.send(new CreateBucketCommand({ Bucket: bucket }))).catch((error: unknown) => {
      // Another agent created it at the same moment.
      if (!/BucketAlreadyOwnedByYou|BucketAlreadyExists/.test(String((error as Error).name))) throw error;
    });
    this.log('info', 'created the bucket', { location: this.location });
  }
}

function setRef(doc: CatalogDocument, name: string, version: string, kind: BlobKind, ref: BlobRef): void {
  const job = (doc.jobs[name] ??= {});
  (job[version] ??= {})[kind] = ref;
}

function isRef(value: unknown): value is BlobRef {
  const ref = value as BlobRef | undefined;
  return typeof ref?.integrity === 'string' && typeof ref.size === 'number' && typeof ref.stored_at === 'string';
}

function toCatalogRef(ref: BlobRef): CatalogRef {
  return { integrity: ref.integrity, size: ref.size, storedAtMs: Date.parse(ref.stored_at) };
}

/** Removes the spools of agents that are gone (killed mid-upload); a running agent's stay. */
async function removeDeadSpools(dir: string, log: AgentLog): Promise<void> {
  const dead = (await readdir(dir).catch(() => [] as string[])).filter((file) => !processRuns(Number(file.split('-')[0])));
  for (const file of dead) await rm(path.join(dir, file), { force: true });
  if (dead.length > 0) log('warn', 'removed files of interrupted uploads', { count: dead.length, dir });
}

