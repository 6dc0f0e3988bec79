/**
 * Content-addressed blobs in the bucket (`PREFIX/blobs/sha256/<hex digest>`), read through a local
 * cacache folder of this agent that is verified by integrity on every read.
 *
 * A blob's key is derived from its sha256, so a blob is never updated in place: storing it again
 * is a no-op (`If-None-Match: *` answers 412), unless the bucket's copy is damaged, in which case
 * the good bytes replace it. Bytes downloaded from the bucket are hashed before anything else sees
 * them: bytes that do not match their integrity are never cached, served or run.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';

import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import * as cacache from 'cacache';

import type { AgentLog } from '../../types';
import { httpStatusOf, isNotFound, isPreconditionFailed, translateS3Error } from './errors';

/** The bucket's copy of a blob is missing or does not match its integrity. */
export class BlobDamagedError extends Error {
  constructor(
    readonly integrity: string,
    readonly key: string,
    readonly reason: 'missing' | 'damaged',
  ) {
    super(`the object ${key} is ${reason === 'missing' ? 'missing from' : 'damaged in'} the bucket (it does not match ${integrity})`);
    this.name = 'BlobDamagedError';
  }
}

export function sha256Sri(bytes: Uint8Array): string {
  return `sha256-${createHash('sha256').update(bytes).digest('base64')}`;
}

export class BlobStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly cacheDir: string,
    private readonly where: string,
    private readonly log: AgentLog,
  ) {}

  /** `PREFIX/blobs/sha256/<hex>` of a sha256 SRI (hex: safe in every key and URL). */
  keyOf(integrity: string): string {
    const [algorithm, base64] = integrity.split('-', 2);
    if (algorithm !== 'sha256' || !base64) throw new Error(`'${integrity}' is not a sha256 integrity`);
    return `${this.prefix}blobs/sha256/${Buffer.from(base64, 'base64').toString('hex')}`;
  }

  /**
   * Stores the blob whose SRI is `integrity` (its bytes, or a local file of them, streamed) in the
   * bucket unless an intact copy is already there. Resolves once the bucket holds them; the local
   * cache is filled on first read, not here, so that every agent's first run of a version checks
   * the bucket's copy.
   */
  async put(integrity: string, source: BlobSource): Promise<void> {
    const key = this.keyOf(integrity);
    try {
      // Conditional: the bucket's copy is never overwritten blindly (another agent may be storing it).
      await this.upload(key, source, true);
      return;
    } catch (error) {
      if (!isPreconditionFailed(error)) throw translateS3Error(error, this.where);
    }
    // Already there (another version or agent stored the same bytes): trust it only if intact.
    if (await this.bucketCopyMatches(key, source)) return;
    this.log('warn', 'replacing a damaged copy in the bucket with the bytes just uploaded', { key, integrity });
    try {
      await this.upload(key, source, false);
    } catch (error) {
      throw translateS3Error(error, this.where);
    }
  }

  /**
   * One PutObject. A file is streamed (never held whole); the SDK does not retry a streamed body,
   * so a failure that may be passing is tried once more here, with the file read again.
   */
  private async upload(key: string, source: BlobSource, ifNoneMatch: boolean): Promise<void> {
    const send = async (): Promise<void> => {
      const body = source instanceof Uint8Array ? source : createReadStream(source.file);
      try {
        await this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentLength: sizeOf(source), ...(ifNoneMatch && { IfNoneMatch: '*' }) }),
        );
      } finally {
        // A request that failed before reading it all must not keep the file open.
        if (!(body instanceof Uint8Array)) body.destroy();
      }
    };
    try {
      await send();
    } catch (error) {
      if (source instanceof Uint8Array || !isTransient(error)) throw error;
      await send();
    }
  }

  /** True when the bucket holds the blob (HEAD; used after a catalog change to catch a racing delete). */
  async exists(integrity: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyOf(integrity) }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw translateS3Error(error, this.where);
    }
  }

  /** The verified bytes: from the local cache when it holds them intact, else from the bucket. */
  async get(integrity: string, size: number): Promise<Buffer> {
    const cached = await this.fromCache(integrity, size);
    if (cached) return cached;
    const bytes = await this.download(integrity);
    if (sha256Sri(bytes) !== integrity || bytes.byteLength !== size) {
      const key = this.keyOf(integrity);
      this.log('error', 'a blob in the bucket failed its integrity check; refusing to serve or run it', { key, integrity });
      throw new BlobDamagedError(integrity, key, 'damaged');
    }
    await cacache.put(this.cacheDir, cacheKey(integrity), bytes, { integrity, algorithms: ['sha256'] }).catch((error: unknown) => {
      // The cache only saves a download next time: a full disk must not fail the request.
      this.log('warn', 'could not keep a downloaded blob in the local cache', { integrity, error: String(error) });
    });
    return bytes;
  }

  /** Removes the blob from the bucket and from this agent's cache. */
  async delete(integrity: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(integrity) }));
    } catch (error) {
      if (!isNotFound(error)) throw translateS3Error(error, this.where);
    }
    await cacache.rm.content(this.cacheDir, integrity).catch(() => undefined);
    await cacache.rm.entry(this.cacheDir, cacheKey(integrity)).catch(() => undefined);
  }

  private async fromCache(integrity: string, size: number): Promise<Buffer | undefined> {
    try {
      return await cacache.get.byDigest(this.cacheDir, integrity, { size });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code !== 'ENOENT') {
        // Damaged locally (EINTEGRITY, EBADSIZE): drop the copy and fetch the bucket's.
        this.log('warn', 'a blob in the local cache is damaged; fetching it again from the bucket', { integrity, code });
        await cacache.rm.content(this.cacheDir, integrity).catch(() => undefined);
      }
      return undefined;
    }
  }

  private async download(integrity: string): Promise<Buffer> {
    const key = this.keyOf(integrity);
    try {
      const answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return Buffer.from((await answer.Body?.transformToByteArray()) ?? new Uint8Array());
    } catch (error) {
      if (isNotFound(error)) {
        this.log('error', 'a blob the catalog names is missing from the bucket', { key, integrity });
        throw new BlobDamagedError(integrity, key, 'missing');
      }
      throw translateS3Error(error, this.where);
    }
  }

  private async bucketCopyMatches(key: string, source: BlobSource): Promise<boolean> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      // A single-part upload's ETag is the MD5 of its bytes (on RGW and AWS alike).
      return head.ContentLength === sizeOf(source) && head.ETag?.replace(/"/g, '') === (await md5Of(source));
    } catch (error) {
      if (isNotFound(error)) return false;
      throw translateS3Error(error, this.where);
    }
  }
}

/** What a blob is stored from: its bytes, or a local file holding exactly them (an upload's spool). */
export type BlobSource = Uint8Array | { file: string; size: number };

function sizeOf(source: BlobSource): number {
  return source instanceof Uint8Array ? source.byteLength : source.size;
}

async function md5Of(source: BlobSource): Promise<string> {
  const md5 = createHash('md5');
  if (source instanceof Uint8Array) md5.update(source);
  else await pipeline(createReadStream(source.file), md5);
  return md5.digest('hex');
}

/** A failure that a second try may not meet: the store busy or briefly unreachable, not a refusal. */
function isTransient(error: unknown): boolean {
  const status = httpStatusOf(error);
  return status === undefined ? !isPreconditionFailed(error) : status >= 500 || status === 429;
}

function cacheKey(integrity: string): string {
  return `blob:${integrity}`;
}
