/**
 * The catalog of an S3 store (names → versions → {integrity, size, stored_at}) as ONE small index
 * object, rewritten by generations that are never updated in place:
 *
 *   PREFIX/catalog/<inverted generation>.json
 *
 * A change reads the newest generation N and writes N+1 with `If-None-Match: *`. The store lets
 * exactly one writer create a key (atomic on Ceph RGW and AWS), so two agents changing the catalog
 * at once never lose either change: the loser gets 412, reads N+1 and applies its change again.
 * Generation numbers are inverted in the key (10^15 − N), so a LIST of one key returns the newest
 * one: an agent learns whether anything changed with one cheap LIST, without walking the bucket.
 * Old generations beyond the last few are deleted by the writer (the catalog never grows a log).
 * `If-Match` is never used (RGW compares it without quotes and answers racing losers with 500).
 */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

import type { AgentLog } from '../../types';
import { isNotFound, isPreconditionFailed, translateS3Error } from './errors';

/** One stored blob, as the catalog names it. */
export interface BlobRef {
  integrity: string;
  size: number;
  /** ISO 8601 */
  stored_at: string;
}

/** The blobs of one version, by kind: its manifest text, its executable, its files archive. */
export type VersionEntry = Partial<Record<'manifest' | 'executable' | 'files', BlobRef>>;

/**
 * name → version → blobs. The default version is not stored: every agent computes it from these
 * entries by the contract's rule (../catalog.ts), so it moves exactly when a version is complete.
 */
export type JobEntry = Record<string, VersionEntry>;

export interface CatalogDocument {
  format: 1;
  generation: number;
  written_at: string;
  jobs: Record<string, JobEntry>;
}

const GENERATION_SPAN = 10 ** 15;
/** Generations kept behind the newest one, so that a reader that listed one just before can still read it. */
const GENERATIONS_KEPT = 8;
/** Attempts at one change when other agents keep winning the race for the next generation. */
const MAX_ATTEMPTS = 64;

export function emptyCatalog(): CatalogDocument {
  return { format: 1, generation: 0, written_at: new Date(0).toISOString(), jobs: {} };
}

export class IndexObject {
  private doc: CatalogDocument = emptyCatalog();
  private refreshing: Promise<boolean> | undefined;
  private refreshStartedAtMs = 0;
  private changes: Promise<unknown> = Promise.resolve();
  /** When the catalog was last known to match the bucket (ms since epoch). */
  private confirmedAtMs = 0;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly where: string,
    private readonly log: AgentLog,
  ) {}

  get current(): CatalogDocument {
    return this.doc;
  }

  get lastConfirmedAtMs(): number {
    return this.confirmedAtMs;
  }

  /**
   * Brings the catalog up to the bucket's newest generation; true when it changed. Concurrent
   * callers share one round trip.
   */
  refresh(): Promise<boolean> {
    if (!this.refreshing) {
      this.refreshStartedAtMs = performance.now();
      this.refreshing = this.fetchNewest().finally(() => {
        this.refreshing = undefined;
      });
    }
    return this.refreshing;
  }

  /**
   * Like refresh(), but sees every generation written before this call: it shares a round trip
   * only with one that started after it was called.
   */
  async refreshSinceNow(): Promise<boolean> {
    const askedAt = performance.now();
    if (this.refreshing && this.refreshStartedAtMs >= askedAt) return this.refreshing;
    await this.refreshing?.catch(() => undefined);
    return this.refresh();
  }

  /**
   * Applies `change` to the newest catalog and writes it as the next generation. `change` edits
   * the document it is given and returns its result, or `{ unchanged: result }` to write nothing.
   * It may run more than once (when another agent wrote first), always on the newest document.
   */
  change<T>(change: (doc: CatalogDocument) => T | Unchanged<T>): Promise<T> {
    const run = this.changes.then(() => this.changeOnce(change));
    this.changes = run.catch(() => undefined);
    return run;
  }

  private async changeOnce<T>(change: (doc: CatalogDocument) => T | Unchanged<T>): Promise<T> {
    await this.refresh();
    for (let attempt = 1; ; attempt++) {
      const next = structuredClone(this.doc);
      const result = change(next);
      if (result instanceof Unchanged) return result.value;
      next.generation = this.doc.generation + 1;
      next.written_at = new Date().toISOString();
      if (await this.tryWrite(next)) {
        this.doc = next;
        this.confirmedAtMs = Date.now();
        void this.compact(next.generation).catch((error: unknown) =>
          this.log('warn', 'could not remove old catalog generations (they are removed by a later change)', {
            error: String(error),
          }),
        );
        return result;
      }
      if (attempt >= MAX_ATTEMPTS) {
        throw new Error(`the job index at ${this.where} kept changing under this agent (${attempt} attempts); try again`);
      }
      // Another agent wrote this generation first: read it, then apply the change to it.
      await delay(Math.random() * Math.min(100, 5 * attempt));
      await this.refresh();
    }
  }

  private keyOf(generation: number): string {
    return `${this.prefix}catalog/${String(GENERATION_SPAN - generation).padStart(16, '0')}.json`;
  }

  private generationOf(key: string): number | undefined {
    const match = /catalog\/(\d{16})\.json$/.exec(key);
    return match ? GENERATION_SPAN - Number(match[1]) : undefined;
  }

  /** True when this agent created the generation's object; false when another agent already had. */
  private async tryWrite(doc: CatalogDocument): Promise<boolean> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.keyOf(doc.generation),
          Body: JSON.stringify(doc),
          ContentType: 'application/json',
          IfNoneMatch: '*',
        }),
      );
      return true;
    } catch (error) {
      // 409 ConditionalRequestConflict: AWS's answer to two creates of one key at the same moment.
      if (isPreconditionFailed(error) || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 409) {
        return false;
      }
      throw translateS3Error(error, this.where);
    }
  }

  private async fetchNewest(): Promise<boolean> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const keys = await this.listNewest(GENERATIONS_KEPT);
      if (keys.length === 0) {
        this.confirmedAtMs = Date.now();
        return false;
      }
      const newest = this.generationOf(keys[0]);
      // Never older than what this agent holds: a LIST sent before this agent's own write may
      // answer after it (and undo it here: a version just stored would vanish until the next poll).
      if (newest !== undefined && newest <= this.doc.generation) {
        this.confirmedAtMs = Date.now();
        return false;
      }
      const doc = await this.readNewestReadable(keys);
      if (doc && Math.max(doc.generation, newest ?? 0) <= this.doc.generation) return false;
      if (doc) {
        // Newest readable may be older than the newest key when that one is damaged; the next
        // change still writes after the newest key.
        this.doc = { ...doc, generation: Math.max(doc.generation, newest ?? 0) };
        this.confirmedAtMs = Date.now();
        return true;
      }
      // Every listed generation vanished (compacted) between the LIST and the GETs: list again.
    }
    throw new Error(`the job index at ${this.where} could not be read (its generations kept vanishing); try again`);
  }

  private async listNewest(count: number): Promise<string[]> {
    try {
      const answer = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${this.prefix}catalog/`, MaxKeys: count }),
      );
      return (answer.Contents ?? []).map((object) => object.Key ?? '').filter((key) => this.generationOf(key) !== undefined);
    } catch (error) {
      throw translateS3Error(error, this.where);
    }
  }

  private async readNewestReadable(keys: string[]): Promise<CatalogDocument | undefined> {
    for (const key of keys) {
      const generation = this.generationOf(key);
      if (generation === this.doc.generation) return this.doc;
      let text: string;
      try {
        const answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
        text = (await answer.Body?.transformToString('utf-8')) ?? '';
      } catch (error) {
        if (isNotFound(error)) continue;
        throw translateS3Error(error, this.where);
      }
      const doc = parseCatalog(text, generation);
      if (doc) return doc;
      this.log('error', 'a catalog generation in the bucket is damaged; using the one before it', { key });
    }
    return undefined;
  }

  /** Deletes generations older than the few kept behind `generation`. */
  private async compact(generation: number): Promise<void> {
    const answer = await this.client.send(
      new ListObjectsV2Command({
        Bucket: this.bucket,
        Prefix: `${this.prefix}catalog/`,
        StartAfter: this.keyOf(generation - GENERATIONS_KEPT),
        MaxKeys: 1000,
      }),
    );
    const stale = (answer.Contents ?? []).map((object) => ({ Key: object.Key ?? '' })).filter((object) => object.Key !== '');
    if (stale.length === 0) return;
    await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: stale, Quiet: true } }));
  }
}

/** What a change returns when it wrote nothing (the catalog already said so). */
export class Unchanged<T> {
  constructor(readonly value: T) {}
}

function parseCatalog(text: string, generation: number | undefined): CatalogDocument | undefined {
  try {
    const doc = JSON.parse(text) as CatalogDocument;
    if (doc?.format !== 1 || typeof doc.jobs !== 'object' || doc.jobs === null) return undefined;
    if (generation !== undefined && doc.generation !== generation) return undefined;
    return doc;
  } catch {
    return undefined;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
