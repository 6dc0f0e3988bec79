/**
 * The storage contract: what the agent's routes need of a store of jobs, whatever keeps the bytes
 * (a local cacache folder, an S3 bucket). Every backend passes the same test suite
 * (test/unit/storage/contract.ts).
 *
 * A job is a fully-qualified name with versions. A version has up to three blobs, each stored
 * whole, addressed by its sha256 SRI integrity and verified on every read:
 *   - its manifest text (exactly as sent),
 *   - its executable (`.wasm`),
 *   - optionally its files archive (a tar the job's runner unpacks; issue 9).
 *
 * The rules every backend keeps:
 *   - **Acknowledged means durable**: a put or delete resolves only once the change is stored where
 *     a restart (of this agent or any other agent on the same store) finds it. A put that fails
 *     leaves no trace in listings, and the catalog as it was.
 *   - **Atomic publish**: a version is *complete* when its manifest and its executable are both
 *     stored. The default version of a job (the one a run without `?version=` uses) is the complete
 *     version that became complete last; a job with no complete version defaults to the version of
 *     its manifest stored last (whose run then answers "no executable"). So the default moves only
 *     when the second of the two blobs of a version is stored: never to a version half published,
 *     never away from one still complete.
 *   - **Damage is reported, never deleted**: a blob that fails its integrity check is kept out of
 *     service (not listed, never run) and named in `status().damaged`; it is removed only by an
 *     explicit delete of its version or job.
 *   - Everything is async: a backend may consult its backing store on a miss (an S3 catalog
 *     refreshed every so often), and a listing may lag behind another agent's write by the bound
 *     the backend documents, never behind its own.
 */
import type { Readable } from 'node:stream';

import type { ExecutableInfo } from '../../api/contract';
import { HttpError } from '../http/respond';

export type { ExecutableInfo };

/** A stored blob as the catalog knows it. */
export interface BlobInfo {
  /** `sha256-<base64>` */
  integrity: string;
  size: number;
}

export interface StoredManifest extends BlobInfo {
  version: string;
  /** The text exactly as it was stored. */
  text: Buffer;
}

export type BlobKind = 'manifest' | 'executable' | 'files';

/** One piece of damage found in the store: kept, out of service, until stored again or deleted. */
export interface DamageReport {
  name: string;
  version: string;
  kind: BlobKind;
  integrity: string;
  /** One line: what is wrong (e.g. "content does not match its integrity"). */
  problem: string;
}

export interface StoreStatus {
  /** 'local' or 's3' */
  backend: string;
  /** Where the store is: a folder, or `s3://bucket/prefix`. */
  location: string;
  damaged: DamageReport[];
}

/**
 * The bytes of an upload: a Buffer, or chunks as they arrive (a request body, streamed: the store
 * reads it no faster than it can write it). A body that throws (the client went away, the body
 * went over its limit) stores nothing and leaves nothing behind; its error propagates.
 */
export type UploadBody = Uint8Array | AsyncIterable<Uint8Array>;

/** An upload every byte of which has arrived and been hashed, not yet stored or listed. */
export interface StagedUpload extends BlobInfo {
  /**
   * A local file holding exactly those bytes, readable until beforeCommit settles: a check reads
   * them from here (a module is validated by the check worker from this file), so no thread has
   * to hold an upload whole while it streams in.
   */
  file: string;
}

export interface PutOptions {
  /** When given, the upload is refused (IntegrityMismatchError, nothing stored) unless it hashes to this. */
  expectedIntegrity?: string;
  /**
   * Runs once every byte is written and hashed (after the announced integrity matched), before the
   * blob becomes visible, possibly while the store is still making it durable; throwing refuses
   * the upload (nothing is stored, the error propagates). Routes validate a module here, so the
   * upload is hashed once, by the store, while it streams in, and the acknowledgement waits for
   * both the store and the checks.
   */
  beforeCommit?: (upload: StagedUpload) => void | Promise<void>;
}

/** The checks every backend runs on a staged upload before it may be stored (see PutOptions). */
export async function checkUpload(upload: StagedUpload, options: PutOptions): Promise<void> {
  if (options.expectedIntegrity !== undefined && options.expectedIntegrity !== upload.integrity) {
    throw new IntegrityMismatchError(options.expectedIntegrity, upload.integrity);
  }
  await options.beforeCommit?.(upload);
}

export interface JobStore {
  readonly backend: string;
  readonly location: string;

  // ---- catalog ----

  /** Fully-qualified names of the jobs that have at least one intact manifest, sorted. */
  names(): Promise<string[]>;
  /** Whether `name` is listed (has an intact manifest). */
  has(name: string): Promise<boolean>;
  /** The default version (see the atomic-publish rule above); undefined when there is no such job. */
  defaultVersion(name: string): Promise<string | undefined>;
  /** The executables of `name`, newest first; undefined when there is no such job. */
  versions(name: string): Promise<ExecutableInfo[] | undefined>;
  /** The executable of one version; undefined when that version has none. */
  executable(name: string, version: string): Promise<ExecutableInfo | undefined>;
  /** The manifest of `version` (default: the default version) without its text; undefined when not stored. */
  manifestInfo(name: string, version?: string): Promise<(BlobInfo & { version: string }) | undefined>;

  // ---- reads (verified) ----

  /** The manifest text of `version` (default: the default version), verified; undefined when not stored. */
  readManifest(name: string, version?: string): Promise<StoredManifest | undefined>;
  /** The executable's bytes, verified: IntegrityError when damaged, ContentGoneError when deleted meanwhile. */
  readExecutable(name: string, info: ExecutableInfo): Promise<Buffer>;
  /**
   * The executable's bytes as a stream, checked in full before this resolves (damaged bytes are an
   * IntegrityError here, never a half-sent 200); the stream fails at its end if they changed since.
   */
  streamExecutable(name: string, info: ExecutableInfo): Promise<Readable>;

  // ---- writes (durable when they resolve; see the rules above) ----

  /** Stores the manifest text of `version`; resolves with its integrity. */
  putManifest(name: string, version: string, text: Uint8Array): Promise<string>;
  /** Stores the executable of `version` for a listed job; undefined (nothing stored) when `name` is not listed. */
  putExecutable(name: string, version: string, body: UploadBody, options?: PutOptions): Promise<ExecutableInfo | undefined>;
  /** Deletes the executable of one version; false when there was none. */
  deleteExecutable(name: string, version: string): Promise<boolean>;
  /** Deletes a job: every manifest, executable and files archive; false when there was none. */
  deleteJob(name: string): Promise<boolean>;

  // ---- files archive of a version (issue 9: PUT …/files/:version) ----

  /** Stores the files archive of `version` of a listed job; undefined (nothing stored) when `name` is not listed. */
  putFiles(name: string, version: string, body: UploadBody, options?: PutOptions): Promise<BlobInfo | undefined>;
  /** The files archive of `version`; undefined when it has none. */
  filesInfo(name: string, version: string): Promise<BlobInfo | undefined>;
  /** Its bytes, verified (IntegrityError when damaged). */
  readFiles(name: string, version: string): Promise<Buffer | undefined>;
  /** Deletes it; false when there was none. */
  deleteFiles(name: string, version: string): Promise<boolean>;

  // ---- health ----

  status(): Promise<StoreStatus>;
  /** Releases the store (locks, timers, connections). Further calls may fail. */
  close(): Promise<void>;
}

/** Opens a store; `location` is what `serval agent --storage` was given. */
export type JobStoreOpener = (location: string, log: import('../types').AgentLog) => Promise<JobStore>;

// ---- errors every backend throws (the server maps each to its status) ----

/** The stored bytes no longer match their integrity (corrupted or truncated): never served, never run. */
export class IntegrityError extends Error {
  constructor(readonly what: string) {
    super(`the stored ${what} failed its integrity check (corrupted in storage); store it again`);
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

/** An upload whose bytes do not hash to the integrity its sender announced: nothing was stored. */
export class IntegrityMismatchError extends HttpError {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      400,
      `the body's integrity is ${actual}, not ${expected} as Serval-Integrity says: the upload was damaged or the header is stale; upload it again`,
    );
    this.name = 'IntegrityMismatchError';
  }
}

/**
 * The store could not take or give the bytes for a reason outside the request: full disk (507),
 * read-only store (507), object store unreachable (503), credentials refused (403 / 500). The
 * message is one line naming the cause and what to do; nothing was half stored.
 */
export class StorageError extends HttpError {
  constructor(status: number, message: string) {
    super(status, message);
    this.name = 'StorageError';
  }
}
