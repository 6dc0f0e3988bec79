/**
 * wasi:filesystem (types, preopens) for component jobs, over the run's in-memory tree (memfs.ts)
 * with the rules preview1 modules have (wasiFiles.ts): a job whose version has files gets that
 * tree preopened as `/` (then each top-level folder by name), writable for this run only, its bytes
 * counted with the job's memory against its limit (`insufficient-space` past it), paths never
 * leaving the tree; a job without files gets no preopened directory and sees nothing at all.
 *
 * Shapes are those of jco's glue: methods in camelCase, enums as strings, flags as objects of
 * booleans, u64 as bigint; a failure is the error-code string thrown (the result's err payload).
 */
import { type DirNode, type FileNode, FsError, type FsErrorCode, type FsImage, type FsNode, jobTree, MemFs, type NewTime, preopenedDirectories } from '../memfs';
import { InputStream, IoError, OutputStream, streamFailure } from './io';

/** The wasi:filesystem error-code cases this host answers. */
export type FilesystemErrorCode =
  | 'access'
  | 'bad-descriptor'
  | 'busy'
  | 'cross-device'
  | 'exist'
  | 'file-too-large'
  | 'invalid'
  | 'is-directory'
  | 'loop'
  | 'name-too-long'
  | 'no-entry'
  | 'insufficient-space'
  | 'not-directory'
  | 'not-empty'
  | 'not-permitted';

/** Escapes (`..` above the preopen, a symlink out) are not-permitted, as the WIT says. */
const ERROR_CODE_OF: Record<FsErrorCode, FilesystemErrorCode> = {
  EACCES: 'access',
  EBADF: 'bad-descriptor',
  EBUSY: 'busy',
  EEXIST: 'exist',
  EFBIG: 'file-too-large',
  EINVAL: 'invalid',
  EISDIR: 'is-directory',
  ELOOP: 'loop',
  ENAMETOOLONG: 'name-too-long',
  ENOENT: 'no-entry',
  ENOSPC: 'insufficient-space',
  ENOTCAPABLE: 'not-permitted',
  ENOTDIR: 'not-directory',
  ENOTEMPTY: 'not-empty',
  EPERM: 'not-permitted',
  EXDEV: 'cross-device',
};

type DescriptorType = 'directory' | 'regular-file' | 'symbolic-link';
interface Datetime {
  seconds: bigint;
  nanoseconds: number;
}
type NewTimestamp = { tag: 'no-change' } | { tag: 'now' } | { tag: 'timestamp'; val: Datetime };
interface PathFlags {
  symlinkFollow?: boolean;
}
interface OpenFlags {
  create?: boolean;
  directory?: boolean;
  exclusive?: boolean;
  truncate?: boolean;
}
interface DescriptorFlags {
  read?: boolean;
  write?: boolean;
  mutateDirectory?: boolean;
}
interface DirectoryEntry {
  type: DescriptorType;
  name: string;
}

/** The device every node of a tree is on, as in the preview1 filestat. */
const TREE_DEVICE = 1n;
const encoder = new TextEncoder();

/** What a file descriptor may do; a directory may do everything (the tree is writable for the run). */
interface Access {
  read: boolean;
  write: boolean;
}
const DIRECTORY_ACCESS: Access = { read: true, write: false };

class Descriptor {
  constructor(
    private readonly fs: MemFs,
    private readonly node: FileNode | DirNode,
    private readonly access: Access,
  ) {}

  // ---- content --------------------------------------------------------------------------------

  readViaStream(offset: bigint): InputStream {
    const file = this.readableFile();
    let position = fileOffset(offset);
    return new InputStream({
      read: (max) => {
        if (position >= file.size) return undefined;
        const chunk = new Uint8Array(Math.min(max, file.size - position));
        position += this.fs.read(file, position, chunk);
        return chunk;
      },
    });
  }

  writeViaStream(offset: bigint): OutputStream {
    let position = fileOffset(offset);
    return this.outputStream(() => position, (written) => (position += written));
  }

  appendViaStream(): OutputStream {
    const file = this.writableFile();
    return this.outputStream(() => file.size, () => undefined);
  }

  /** Stream writes at `position()`; a filesystem failure is the stream's last-operation-failed. */
  private outputStream(position: () => number, advance: (written: number) => void): OutputStream {
    const file = this.writableFile();
    return new OutputStream({
      write: (chunk) => {
        try {
          advance(this.fs.write(file, position(), chunk));
        } catch (error) {
          if (error instanceof FsError) throw streamFailure(new IoError(error.message, ERROR_CODE_OF[error.code]));
          throw error;
        }
      },
    });
  }

  read(length: bigint, offset: bigint): [Uint8Array, boolean] {
    const file = this.readableFile();
    const position = fileOffset(offset);
    const chunk = new Uint8Array(Math.max(0, Math.min(Number(length > 0x7fff_ffffn ? 0x7fff_ffffn : length), file.size - position)));
    const got = this.fs.read(file, position, chunk);
    return [chunk.subarray(0, got), position + got >= file.size];
  }

  write(buffer: Uint8Array, offset: bigint): bigint {
    return BigInt(this.fs.write(this.writableFile(), fileOffset(offset), buffer));
  }

  setSize(size: bigint): void {
    if (this.node.kind === 'dir') throw 'is-directory';
    this.fs.truncate(this.writableFile(), fileOffset(size));
  }

  advise(_offset: bigint, _length: bigint, _advice: string): void {
    this.anyFile();
  }

  sync(): void {}
  syncData(): void {}

  // ---- this descriptor ----------------------------------------------------------------------------

  getFlags(): DescriptorFlags {
    return this.node.kind === 'dir' ? { read: true, mutateDirectory: true } : { ...this.access };
  }

  getType(): DescriptorType {
    return typeOf(this.node);
  }

  stat(): ReturnType<typeof statOf> {
    return statOf(this.node);
  }

  setTimes(atime: NewTimestamp, mtime: NewTimestamp): void {
    this.fs.setTimes(this.node, newTime(atime), newTime(mtime));
  }

  isSameObject(other: Descriptor): boolean {
    return other instanceof Descriptor && other.node === this.node;
  }

  metadataHash(): { lower: bigint; upper: bigint } {
    return hashOf(this.node);
  }

  readDirectory(): DirectoryEntryStream {
    const entries = [...this.dir().entries].map(([name, node]): DirectoryEntry => ({ type: typeOf(node), name }));
    return new DirectoryEntryStream(entries);
  }

  // ---- paths in this directory ----------------------------------------------------------------------

  openAt(pathFlags: PathFlags, path: string, openFlags: OpenFlags, flags: DescriptorFlags): Descriptor {
    const writable = flags.write === true;
    const node = this.fs.open(this.dir(), path, {
      follow: pathFlags.symlinkFollow === true,
      create: openFlags.create === true,
      exclusive: openFlags.exclusive === true,
      directory: openFlags.directory === true,
      truncate: openFlags.truncate === true,
      writable,
    });
    // As for preview1 modules: a file opened for neither reading nor writing may still be read.
    const access = node.kind === 'dir' ? DIRECTORY_ACCESS : { read: flags.read === true || !writable, write: writable };
    return new Descriptor(this.fs, node, access);
  }

  statAt(pathFlags: PathFlags, path: string): ReturnType<typeof statOf> {
    return statOf(this.fs.lookup(this.dir(), path, pathFlags.symlinkFollow === true));
  }

  metadataHashAt(pathFlags: PathFlags, path: string): { lower: bigint; upper: bigint } {
    return hashOf(this.fs.lookup(this.dir(), path, pathFlags.symlinkFollow === true));
  }

  setTimesAt(pathFlags: PathFlags, path: string, atime: NewTimestamp, mtime: NewTimestamp): void {
    this.fs.setTimes(this.fs.lookup(this.dir(), path, pathFlags.symlinkFollow === true), newTime(atime), newTime(mtime));
  }

  createDirectoryAt(path: string): void {
    this.fs.mkdir(this.dir(), path);
  }

  removeDirectoryAt(path: string): void {
    this.fs.rmdir(this.dir(), path);
  }

  unlinkFileAt(path: string): void {
    this.fs.unlink(this.dir(), path);
  }

  readlinkAt(path: string): string {
    return this.fs.readlink(this.dir(), path);
  }

  symlinkAt(target: string, path: string): void {
    this.fs.symlink(target, this.dir(), path);
  }

  linkAt(oldPathFlags: PathFlags, oldPath: string, newDescriptor: Descriptor, newPath: string): void {
    // As wasmtime: following a symlink at the source is not supported.
    if (oldPathFlags.symlinkFollow) throw 'invalid';
    this.fs.link(this.dir(), oldPath, this.sameTree(newDescriptor).dir(), newPath);
  }

  renameAt(oldPath: string, newDescriptor: Descriptor, newPath: string): void {
    this.fs.rename(this.dir(), oldPath, this.sameTree(newDescriptor).dir(), newPath);
  }

  // ---- what an operation needs ----------------------------------------------------------------------

  private dir(): DirNode {
    if (this.node.kind !== 'dir') throw 'not-directory';
    return this.node;
  }

  private anyFile(): FileNode {
    if (this.node.kind !== 'file') throw 'bad-descriptor';
    return this.node;
  }

  private readableFile(): FileNode {
    const file = this.anyFile();
    if (!this.access.read) throw 'bad-descriptor';
    return file;
  }

  private writableFile(): FileNode {
    const file = this.anyFile();
    if (!this.access.write) throw 'bad-descriptor';
    return file;
  }

  private sameTree(other: Descriptor): Descriptor {
    if (!(other instanceof Descriptor) || other.fs !== this.fs) throw 'bad-descriptor';
    return other;
  }
}

/** A snapshot of a directory's entries when it was read (`.` and `..` are not entries in WASI 0.2). */
class DirectoryEntryStream {
  constructor(private readonly entries: DirectoryEntry[]) {}
  readDirectoryEntry(): DirectoryEntry | undefined {
    return this.entries.shift();
  }
}

/**
 * Every Descriptor method answers a filesystem failure as its wasi error code (a thrown string,
 * which the glue makes the result's err payload); other errors still unwind the run.
 */
for (const name of Object.getOwnPropertyNames(Descriptor.prototype)) {
  const method = (Descriptor.prototype as unknown as Record<string, unknown>)[name];
  if (name === 'constructor' || typeof method !== 'function') continue;
  (Descriptor.prototype as unknown as Record<string, unknown>)[name] = function (this: Descriptor, ...args: unknown[]): unknown {
    try {
      return (method as (...a: unknown[]) => unknown).apply(this, args);
    } catch (error) {
      if (error instanceof FsError) throw ERROR_CODE_OF[error.code];
      throw error;
    }
  };
}

function typeOf(node: FsNode): DescriptorType {
  return node.kind === 'dir' ? 'directory' : node.kind === 'file' ? 'regular-file' : 'symbolic-link';
}

function statOf(node: FsNode) {
  return {
    type: typeOf(node),
    linkCount: BigInt(node.nlink),
    size: BigInt(node.kind === 'file' ? node.size : node.kind === 'symlink' ? encoder.encode(node.target).length : 0),
    dataAccessTimestamp: datetimeOf(node.atim),
    dataModificationTimestamp: datetimeOf(node.mtim),
    statusChangeTimestamp: datetimeOf(node.ctim),
  };
}

/** Same node, same hash: what the preview1 adapter makes inode numbers of. */
function hashOf(node: FsNode): { lower: bigint; upper: bigint } {
  return { lower: node.ino, upper: TREE_DEVICE };
}

function datetimeOf(ns: bigint): Datetime {
  return { seconds: ns / 1_000_000_000n, nanoseconds: Number(ns % 1_000_000_000n) };
}

function newTime(timestamp: NewTimestamp): NewTime {
  if (timestamp.tag === 'now') return 'now';
  if (timestamp.tag === 'timestamp') return timestamp.val.seconds * 1_000_000_000n + BigInt(timestamp.val.nanoseconds);
  return undefined;
}

/** Offsets and sizes the guest gives as u64; a tree in memory never holds more than 2^53 bytes. */
function fileOffset(offset: bigint): number {
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) throw 'file-too-large';
  return Number(offset);
}

/** What a run's filesystem is made of: its version's files, and the memory limit they share. */
export interface RunFiles {
  image: FsImage;
  memoryLimitBytes?: number;
  /** Bytes of the job's own memories now. */
  guestBytes: () => number;
}

export class ComponentFilesystem {
  private readonly fs: MemFs | undefined;
  /** Fixed when the run starts, as for preview1 modules (folders the job makes are not preopens). */
  private readonly directories: [string, DirNode][];

  constructor(files: RunFiles | undefined) {
    this.fs = files && jobTree(files.image, files.memoryLimitBytes, files.guestBytes);
    this.directories = this.fs ? preopenedDirectories(this.fs) : [];
  }

  /** wasi:filesystem/preopens.get-directories: owned handles, so new ones on every call. */
  preopens(): [Descriptor, string][] {
    return this.directories.map(([name, node]) => [new Descriptor(this.fs!, node, DIRECTORY_ACCESS), name]);
  }

  /** wasi:filesystem/types: its resources serve any run (each descriptor holds its run's tree). */
  static typesInterface(): Record<string, unknown> {
    return {
      Descriptor,
      DirectoryEntryStream,
      filesystemErrorCode: (error: IoError) => (error instanceof IoError ? error.filesystemCode : undefined),
    };
  }
}
