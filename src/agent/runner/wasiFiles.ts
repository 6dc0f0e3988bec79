/**
 * The descriptors of one WASI preview1 run and every fd_* / path_* function over them: stdio
 * (fds 0..2), and, when the job has files, the preopened directory `/` (fd 3) with the
 * directories and files opened from it, all in a MemFs that lives for the run.
 *
 * Semantics follow wasmtime's preview1: paths relative to a directory descriptor never leave it,
 * rights are fixed by what a descriptor is (and may only be narrowed), errno values as Linux.
 */
import { type DirNode, type FileNode, FsError, type FsErrorCode, type FsNode, MemFs, type NewTime, preopenedDirectories } from './memfs';
import type { GuestMemory } from './guestMemory';

/** WASI errno values used here (see the preview1 witx). */
export const enum Errno {
  Success = 0,
  Acces = 2,
  Badf = 8,
  Busy = 10,
  Exist = 20,
  Fault = 21,
  Fbig = 22,
  Ilseq = 25,
  Inval = 28,
  Isdir = 31,
  Loop = 32,
  Nametoolong = 37,
  Noent = 44,
  Nospc = 51,
  Nosys = 52,
  Notdir = 54,
  Notempty = 55,
  Notsock = 57,
  Notsup = 58,
  Perm = 63,
  Spipe = 70,
  Xdev = 75,
  Notcapable = 76,
}

const ERRNO_OF: Record<FsErrorCode, Errno> = {
  EACCES: Errno.Acces,
  EBADF: Errno.Badf,
  EBUSY: Errno.Busy,
  EEXIST: Errno.Exist,
  EFBIG: Errno.Fbig,
  EINVAL: Errno.Inval,
  EISDIR: Errno.Isdir,
  ELOOP: Errno.Loop,
  ENAMETOOLONG: Errno.Nametoolong,
  ENOENT: Errno.Noent,
  ENOSPC: Errno.Nospc,
  ENOTCAPABLE: Errno.Notcapable,
  ENOTDIR: Errno.Notdir,
  ENOTEMPTY: Errno.Notempty,
  EPERM: Errno.Perm,
  EXDEV: Errno.Xdev,
};

const enum Filetype {
  Unknown = 0,
  Directory = 3,
  RegularFile = 4,
  SymbolicLink = 7,
}

// Rights (preview1 witx, `rights`).
const R = {
  fdDatasync: 1n << 0n,
  fdRead: 1n << 1n,
  fdSeek: 1n << 2n,
  fdFdstatSetFlags: 1n << 3n,
  fdSync: 1n << 4n,
  fdTell: 1n << 5n,
  fdWrite: 1n << 6n,
  fdAdvise: 1n << 7n,
  fdAllocate: 1n << 8n,
  pathCreateDirectory: 1n << 9n,
  pathCreateFile: 1n << 10n,
  pathLinkSource: 1n << 11n,
  pathLinkTarget: 1n << 12n,
  pathOpen: 1n << 13n,
  fdReaddir: 1n << 14n,
  pathReadlink: 1n << 15n,
  pathRenameSource: 1n << 16n,
  pathRenameTarget: 1n << 17n,
  pathFilestatGet: 1n << 18n,
  pathFilestatSetSize: 1n << 19n,
  pathFilestatSetTimes: 1n << 20n,
  fdFilestatGet: 1n << 21n,
  fdFilestatSetSize: 1n << 22n,
  fdFilestatSetTimes: 1n << 23n,
  pathSymlink: 1n << 24n,
  pathRemoveDirectory: 1n << 25n,
  pathUnlinkFile: 1n << 26n,
  pollFdReadwrite: 1n << 27n,
} as const;

// Rights of the stdio descriptors: read or write, and poll. No seek/tell, which also tells libc
// that the descriptor is not a terminal, so stdout is fully buffered: fewer, bigger fd_write calls.
const STDIN_RIGHTS = R.fdRead | R.pollFdReadwrite;
const STDOUT_RIGHTS = R.fdWrite | R.pollFdReadwrite;

const FILE_RIGHTS =
  R.fdDatasync | R.fdRead | R.fdSeek | R.fdFdstatSetFlags | R.fdSync | R.fdTell | R.fdWrite | R.fdAdvise | R.fdAllocate |
  R.fdFilestatGet | R.fdFilestatSetSize | R.fdFilestatSetTimes | R.pollFdReadwrite;
/** As wasmtime's: every path operation but truncating through a path, which path_open's O_TRUNC does anyway. */
const DIRECTORY_RIGHTS =
  R.pathCreateDirectory | R.pathCreateFile | R.pathLinkSource | R.pathLinkTarget | R.pathOpen | R.fdReaddir |
  R.pathReadlink | R.pathRenameSource | R.pathRenameTarget | R.pathFilestatGet | R.pathFilestatSetTimes |
  R.fdFilestatGet | R.fdFilestatSetTimes | R.pathSymlink | R.pathRemoveDirectory | R.pathUnlinkFile;
const DIRECTORY_INHERITING_RIGHTS = DIRECTORY_RIGHTS | FILE_RIGHTS;

const OFLAGS_CREAT = 1;
const OFLAGS_DIRECTORY = 2;
const OFLAGS_EXCL = 4;
const OFLAGS_TRUNC = 8;
const LOOKUP_SYMLINK_FOLLOW = 1;
const FDFLAGS_APPEND = 1;
const FDFLAGS_ALL = 0x1f;
const FSTFLAGS_ATIM = 1;
const FSTFLAGS_ATIM_NOW = 2;
const FSTFLAGS_MTIM = 4;
const FSTFLAGS_MTIM_NOW = 8;
const WHENCE_SET = 0;
const WHENCE_CUR = 1;
const WHENCE_END = 2;
const ADVICE_LAST = 5;
const DIRENT_BYTES = 24;
const FILESTAT_BYTES = 64;
/** The st_dev of every node of the tree (one device). */
const TREE_DEVICE = 1n;

/** What the host gives the stdio descriptors: stdin bytes and the stdout/stderr sinks. */
export interface Stdio {
  readStdin(into: Uint8Array): number;
  stdinLeft(): number;
  /** Returns how many bytes it took (it may throw to stop the job at an output limit). */
  write(stream: 'stdout' | 'stderr', chunk: Uint8Array): number;
}

interface Rights {
  base: bigint;
  inheriting: bigint;
}
type Descriptor =
  | ({ kind: 'stdin' | 'stdout' | 'stderr' } & Rights)
  | ({ kind: 'dir'; node: DirNode; preopen?: string; flags: number } & Rights)
  | ({ kind: 'file'; node: FileNode; position: number; flags: number } & Rights);

const encoder = new TextEncoder();

function isStdio(d: Descriptor): d is Extract<Descriptor, { kind: 'stdin' | 'stdout' | 'stderr' }> {
  return d.kind === 'stdin' || d.kind === 'stdout' || d.kind === 'stderr';
}

export class WasiFiles {
  private table = new Map<number, Descriptor>();
  private fs: MemFs | undefined;

  constructor(
    private readonly mem: GuestMemory,
    private readonly stdio: Stdio,
  ) {}

  /** Fresh descriptors for a run: stdio, and the tree's directories (if any) preopened from fd 3 on. */
  reset(fs: MemFs | undefined): void {
    this.table = new Map<number, Descriptor>([
      [0, { kind: 'stdin', base: STDIN_RIGHTS, inheriting: 0n }],
      [1, { kind: 'stdout', base: STDOUT_RIGHTS, inheriting: 0n }],
      [2, { kind: 'stderr', base: STDOUT_RIGHTS, inheriting: 0n }],
    ]);
    this.fs = fs;
    if (!fs) return;
    const preopen = (node: DirNode, name: string): Descriptor => ({
      kind: 'dir',
      node,
      preopen: name,
      flags: 0,
      base: DIRECTORY_RIGHTS,
      inheriting: DIRECTORY_INHERITING_RIGHTS,
    });
    let fd = 3;
    for (const [name, node] of preopenedDirectories(fs)) this.table.set(fd++, preopen(node, name));
  }

  /** Readiness of a descriptor for poll_oneoff: undefined when it is not open. */
  pollReady(fd: number, read: boolean): { ready: boolean; nbytes: bigint } | undefined {
    const d = this.table.get(fd);
    if (!d) return undefined;
    if (d.kind === 'stdin') return { ready: read, nbytes: read ? BigInt(this.stdio.stdinLeft()) : 0n };
    if (d.kind === 'stdout' || d.kind === 'stderr') return { ready: !read, nbytes: 0n };
    if (d.kind === 'file') return { ready: true, nbytes: read ? BigInt(Math.max(0, d.node.size - d.position)) : 0n };
    return { ready: false, nbytes: 0n };
  }

  /** Runs a path or fd operation, answering the errno of a filesystem failure. */
  private guard(operation: () => Errno): Errno {
    try {
      return operation();
    } catch (error) {
      if (error instanceof FsError) return ERRNO_OF[error.code];
      throw error;
    }
  }

  // ---- descriptors ------------------------------------------------------------------------------

  private allocate(descriptor: Descriptor): number {
    let fd = 3;
    while (this.table.has(fd)) fd++;
    this.table.set(fd, descriptor);
    return fd;
  }

  private dir(fd: number): Extract<Descriptor, { kind: 'dir' }> | Errno {
    const d = this.table.get(fd);
    if (!d) return Errno.Badf;
    return d.kind === 'dir' ? d : Errno.Notdir;
  }

  /** The file behind fd, or the errno for stdio (`stdioErrno`), directories (EBADF) and closed fds. */
  private file(fd: number, stdioErrno: Errno): Extract<Descriptor, { kind: 'file' }> | Errno {
    const d = this.table.get(fd);
    if (!d) return Errno.Badf;
    if (d.kind === 'file') return d;
    return isStdio(d) ? stdioErrno : Errno.Badf;
  }

  private path(ptr: number, length: number): string | Errno {
    this.mem.refresh();
    return this.mem.string(ptr, length) ?? Errno.Ilseq;
  }

  fdClose(fd: number): Errno {
    return this.table.delete(fd) ? Errno.Success : Errno.Badf;
  }

  fdRenumber(from: number, to: number): Errno {
    const d = this.table.get(from);
    if (!d || !this.table.has(to)) return Errno.Badf;
    if (from === to) return Errno.Success;
    this.table.set(to, d);
    this.table.delete(from);
    return Errno.Success;
  }

  fdFdstatGet(fd: number, ptr: number): Errno {
    const d = this.table.get(fd);
    if (!d) return Errno.Badf;
    this.mem.refresh();
    this.mem.check(ptr, 24);
    this.mem.bytes.fill(0, ptr, ptr + 24);
    this.mem.setU8(ptr, d.kind === 'dir' ? Filetype.Directory : d.kind === 'file' ? Filetype.RegularFile : Filetype.Unknown);
    this.mem.setU16(ptr + 2, isStdio(d) ? 0 : d.flags);
    this.mem.setU64(ptr + 8, d.base);
    this.mem.setU64(ptr + 16, d.inheriting);
    return Errno.Success;
  }

  fdFdstatSetFlags(fd: number, flags: number): Errno {
    const d = this.table.get(fd);
    // As wasmtime: only a file's flags can change; stdio is no file (fcntl(F_SETFL) fails with EBADF).
    if (!d || isStdio(d)) return Errno.Badf;
    if ((flags & ~FDFLAGS_ALL) !== 0) return Errno.Inval;
    d.flags = flags;
    return Errno.Success;
  }

  /** Rights can only shrink: asking for one the descriptor lacks is ENOTCAPABLE. */
  fdFdstatSetRights(fd: number, base: bigint, inheriting: bigint): Errno {
    const d = this.table.get(fd);
    if (!d) return Errno.Badf;
    if ((base & ~d.base) !== 0n || (inheriting & ~d.inheriting) !== 0n) return Errno.Notcapable;
    d.base = base;
    d.inheriting = inheriting;
    return Errno.Success;
  }

  fdPrestatGet(fd: number, ptr: number): Errno {
    const d = this.table.get(fd);
    if (d?.kind !== 'dir' || d.preopen === undefined) return Errno.Badf;
    this.mem.refresh();
    this.mem.setU32(ptr, 0); // tag: dir (and padding)
    this.mem.setU32(ptr + 4, encoder.encode(d.preopen).length);
    return Errno.Success;
  }

  fdPrestatDirName(fd: number, ptr: number, length: number): Errno {
    const d = this.table.get(fd);
    if (d?.kind !== 'dir' || d.preopen === undefined) return Errno.Badf;
    const name = encoder.encode(d.preopen);
    if (length < name.length) return Errno.Nametoolong;
    this.mem.refresh();
    this.mem.slice(ptr, name.length).set(name);
    return Errno.Success;
  }

  // ---- reading and writing ------------------------------------------------------------------------

  fdWrite(fd: number, iovs: number, count: number, writtenPtr: number): Errno {
    const d = this.table.get(fd);
    if (!d || (d.base & R.fdWrite) === 0n) return Errno.Badf;
    if (d.kind === 'dir') return Errno.Badf;
    this.mem.refresh();
    const buffers = this.mem.iovecs(iovs, count);
    let written = 0;
    if (d.kind === 'file') {
      return this.guard(() => {
        if ((d.flags & FDFLAGS_APPEND) !== 0) d.position = d.node.size;
        for (const chunk of buffers) {
          written += this.fs!.write(d.node, d.position, chunk);
          d.position += chunk.length;
        }
        this.mem.refresh();
        this.mem.setU32(writtenPtr, written);
        return Errno.Success;
      });
    }
    if (d.kind !== 'stdout' && d.kind !== 'stderr') return Errno.Badf;
    for (const chunk of buffers) written += this.stdio.write(d.kind, chunk);
    this.mem.setU32(writtenPtr, written);
    return Errno.Success;
  }

  fdRead(fd: number, iovs: number, count: number, readPtr: number): Errno {
    const d = this.table.get(fd);
    // stdout and stderr are open but not readable: EBADF, as for a descriptor without the read right.
    if (!d || (d.base & R.fdRead) === 0n || d.kind === 'dir') return Errno.Badf;
    this.mem.refresh();
    let read = 0;
    for (const target of this.mem.iovecs(iovs, count)) {
      const got = d.kind === 'file' ? this.fs!.read(d.node, d.position, target) : this.stdio.readStdin(target);
      if (d.kind === 'file') d.position += got;
      read += got;
      if (got < target.length) break;
    }
    this.mem.setU32(readPtr, read);
    return Errno.Success;
  }

  fdPread(fd: number, iovs: number, count: number, offset: bigint, readPtr: number): Errno {
    const d = this.file(fd, Errno.Spipe);
    if (typeof d === 'number') return d;
    if ((d.base & R.fdRead) === 0n) return Errno.Badf;
    this.mem.refresh();
    let position = Number(offset);
    let read = 0;
    for (const target of this.mem.iovecs(iovs, count)) {
      const got = this.fs!.read(d.node, position, target);
      position += got;
      read += got;
      if (got < target.length) break;
    }
    this.mem.setU32(readPtr, read);
    return Errno.Success;
  }

  fdPwrite(fd: number, iovs: number, count: number, offset: bigint, writtenPtr: number): Errno {
    const d = this.file(fd, Errno.Spipe);
    if (typeof d === 'number') return d;
    if ((d.base & R.fdWrite) === 0n) return Errno.Badf;
    this.mem.refresh();
    const buffers = this.mem.iovecs(iovs, count);
    return this.guard(() => {
      let position = Number(offset);
      let written = 0;
      for (const chunk of buffers) {
        written += this.fs!.write(d.node, position, chunk);
        position += chunk.length;
      }
      this.mem.refresh();
      this.mem.setU32(writtenPtr, written);
      return Errno.Success;
    });
  }

  fdSeek(fd: number, offset: bigint, whence: number, resultPtr: number): Errno {
    const d = this.file(fd, Errno.Spipe);
    if (typeof d === 'number') return d;
    const from = whence === WHENCE_SET ? 0n : whence === WHENCE_CUR ? BigInt(d.position) : whence === WHENCE_END ? BigInt(d.node.size) : undefined;
    if (from === undefined) return Errno.Inval;
    const position = from + offset;
    if (position < 0n || position > BigInt(Number.MAX_SAFE_INTEGER)) return Errno.Inval;
    d.position = Number(position);
    this.mem.refresh();
    this.mem.setU64(resultPtr, position);
    return Errno.Success;
  }

  fdTell(fd: number, resultPtr: number): Errno {
    const d = this.file(fd, Errno.Spipe);
    if (typeof d === 'number') return d;
    this.mem.refresh();
    this.mem.setU64(resultPtr, BigInt(d.position));
    return Errno.Success;
  }

  fdAdvise(fd: number, _offset: bigint, _length: bigint, advice: number): Errno {
    const d = this.file(fd, Errno.Spipe);
    if (typeof d === 'number') return d;
    return advice > ADVICE_LAST ? Errno.Inval : Errno.Success;
  }

  fdAllocate(fd: number, offset: bigint, length: bigint): Errno {
    const d = this.file(fd, Errno.Spipe);
    if (typeof d === 'number') return d;
    if ((d.base & R.fdWrite) === 0n) return Errno.Badf;
    const end = offset + length;
    if (end > BigInt(Number.MAX_SAFE_INTEGER)) return Errno.Fbig;
    return this.guard(() => {
      if (Number(end) > d.node.size) this.fs!.truncate(d.node, Number(end));
      return Errno.Success;
    });
  }

  fdSync(fd: number): Errno {
    const d = this.table.get(fd);
    if (!d) return Errno.Badf;
    return isStdio(d) ? Errno.Inval : Errno.Success;
  }

  // ---- attributes ---------------------------------------------------------------------------------

  fdFilestatGet(fd: number, ptr: number): Errno {
    const d = this.table.get(fd);
    if (!d) return Errno.Badf;
    this.mem.refresh();
    if (isStdio(d)) {
      this.mem.check(ptr, FILESTAT_BYTES);
      this.mem.bytes.fill(0, ptr, ptr + FILESTAT_BYTES);
      return Errno.Success;
    }
    this.writeFilestat(ptr, d.node);
    return Errno.Success;
  }

  fdFilestatSetSize(fd: number, size: bigint): Errno {
    const d = this.file(fd, Errno.Inval);
    if (typeof d === 'number') return d === Errno.Badf && this.table.get(fd)?.kind === 'dir' ? Errno.Isdir : d;
    if ((d.base & R.fdWrite) === 0n) return Errno.Badf;
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) return Errno.Fbig;
    return this.guard(() => {
      this.fs!.truncate(d.node, Number(size));
      return Errno.Success;
    });
  }

  fdFilestatSetTimes(fd: number, atim: bigint, mtim: bigint, flags: number): Errno {
    const d = this.table.get(fd);
    if (!d) return Errno.Badf;
    if (isStdio(d)) return Errno.Inval;
    return this.setTimes(d.node, atim, mtim, flags);
  }

  pathFilestatGet(fd: number, lookup: number, pathPtr: number, pathLength: number, ptr: number): Errno {
    return this.inDirectory(fd, pathPtr, pathLength, (dir, path) => {
      const node = this.fs!.lookup(dir.node, path, (lookup & LOOKUP_SYMLINK_FOLLOW) !== 0);
      this.mem.refresh();
      this.writeFilestat(ptr, node);
      return Errno.Success;
    });
  }

  pathFilestatSetTimes(fd: number, lookup: number, pathPtr: number, pathLength: number, atim: bigint, mtim: bigint, flags: number): Errno {
    return this.inDirectory(fd, pathPtr, pathLength, (dir, path) => {
      if (!validTimeFlags(flags)) return Errno.Inval;
      return this.setTimes(this.fs!.lookup(dir.node, path, (lookup & LOOKUP_SYMLINK_FOLLOW) !== 0), atim, mtim, flags);
    });
  }

  private setTimes(node: FsNode, atim: bigint, mtim: bigint, flags: number): Errno {
    if (!validTimeFlags(flags)) return Errno.Inval;
    this.fs!.setTimes(node, newTime(flags, FSTFLAGS_ATIM, FSTFLAGS_ATIM_NOW, atim), newTime(flags, FSTFLAGS_MTIM, FSTFLAGS_MTIM_NOW, mtim));
    return Errno.Success;
  }

  private writeFilestat(ptr: number, node: FsNode): void {
    this.mem.check(ptr, FILESTAT_BYTES);
    this.mem.bytes.fill(0, ptr, ptr + FILESTAT_BYTES);
    this.mem.setU64(ptr, TREE_DEVICE);
    this.mem.setU64(ptr + 8, node.ino);
    this.mem.setU8(ptr + 16, filetypeOf(node));
    this.mem.setU64(ptr + 24, BigInt(node.nlink));
    this.mem.setU64(ptr + 32, BigInt(node.kind === 'file' ? node.size : node.kind === 'symlink' ? encoder.encode(node.target).length : 0));
    this.mem.setU64(ptr + 40, node.atim);
    this.mem.setU64(ptr + 48, node.mtim);
    this.mem.setU64(ptr + 56, node.ctim);
  }

  // ---- directories --------------------------------------------------------------------------------

  /** Entries `.` and `..` first, then the directory's in creation order; a cookie is an entry's index. */
  fdReaddir(fd: number, buffer: number, length: number, cookie: bigint, usedPtr: number): Errno {
    const d = this.table.get(fd);
    if (!d) return Errno.Badf;
    if (d.kind !== 'dir') return Errno.Notdir;
    this.mem.refresh();
    const target = this.mem.slice(buffer, length);
    const entries: [string, FsNode][] = [['.', d.node], ['..', d.node.parent ?? d.node], ...d.node.entries];
    let used = 0;
    for (let i = Number(cookie); i < entries.length && used < length; i++) {
      const [name, node] = entries[i]!;
      const nameBytes = encoder.encode(name);
      const record = new Uint8Array(DIRENT_BYTES + nameBytes.length);
      const view = new DataView(record.buffer);
      view.setBigUint64(0, BigInt(i + 1), true);
      view.setBigUint64(8, node.ino, true);
      view.setUint32(16, nameBytes.length, true);
      record[20] = filetypeOf(node);
      record.set(nameBytes, DIRENT_BYTES);
      // The last record is cut to fill the buffer: a full buffer tells the caller to read on.
      const taken = Math.min(record.length, length - used);
      target.set(record.subarray(0, taken), used);
      used += taken;
    }
    this.mem.setU32(usedPtr, used);
    return Errno.Success;
  }

  pathOpen(
    fd: number,
    lookup: number,
    pathPtr: number,
    pathLength: number,
    oflags: number,
    base: bigint,
    _inheriting: bigint,
    fdflags: number,
    resultPtr: number,
  ): Errno {
    return this.inDirectory(fd, pathPtr, pathLength, (dir, path) => {
      const directory = (oflags & OFLAGS_DIRECTORY) !== 0;
      const create = (oflags & OFLAGS_CREAT) !== 0;
      const writable = (base & (R.fdWrite | R.fdDatasync | R.fdAllocate | R.fdFilestatSetSize)) !== 0n;
      const node = this.fs!.open(dir.node, path, {
        follow: (lookup & LOOKUP_SYMLINK_FOLLOW) !== 0,
        create,
        exclusive: (oflags & OFLAGS_EXCL) !== 0,
        directory,
        truncate: (oflags & OFLAGS_TRUNC) !== 0,
        writable,
      });
      let opened: Descriptor;
      if (node.kind === 'dir') {
        opened = { kind: 'dir', node, flags: fdflags, base: DIRECTORY_RIGHTS, inheriting: DIRECTORY_INHERITING_RIGHTS };
      } else {
        const readable = (base & (R.fdRead | R.fdReaddir)) !== 0n || !writable;
        let rights = FILE_RIGHTS;
        if (!readable) rights &= ~R.fdRead;
        if (!writable) rights &= ~(R.fdWrite | R.fdDatasync | R.fdAllocate | R.fdFilestatSetSize);
        opened = { kind: 'file', node, position: 0, flags: fdflags, base: rights, inheriting: 0n };
      }
      this.mem.refresh();
      this.mem.check(resultPtr, 4);
      this.mem.setU32(resultPtr, this.allocate(opened));
      return Errno.Success;
    });
  }

  pathCreateDirectory(fd: number, pathPtr: number, pathLength: number): Errno {
    return this.inDirectory(fd, pathPtr, pathLength, (dir, path) => (this.fs!.mkdir(dir.node, path), Errno.Success));
  }

  pathRemoveDirectory(fd: number, pathPtr: number, pathLength: number): Errno {
    return this.inDirectory(fd, pathPtr, pathLength, (dir, path) => (this.fs!.rmdir(dir.node, path), Errno.Success));
  }

  pathUnlinkFile(fd: number, pathPtr: number, pathLength: number): Errno {
    return this.inDirectory(fd, pathPtr, pathLength, (dir, path) => (this.fs!.unlink(dir.node, path), Errno.Success));
  }

  pathSymlink(targetPtr: number, targetLength: number, fd: number, pathPtr: number, pathLength: number): Errno {
    const target = this.path(targetPtr, targetLength);
    if (typeof target === 'number') return this.dir(fd) === Errno.Badf ? Errno.Badf : target;
    return this.inDirectory(fd, pathPtr, pathLength, (dir, path) => (this.fs!.symlink(target, dir.node, path), Errno.Success));
  }

  pathReadlink(fd: number, pathPtr: number, pathLength: number, buffer: number, bufferLength: number, usedPtr: number): Errno {
    return this.inDirectory(fd, pathPtr, pathLength, (dir, path) => {
      const target = encoder.encode(this.fs!.readlink(dir.node, path));
      const used = Math.min(target.length, bufferLength);
      this.mem.refresh();
      this.mem.slice(buffer, used).set(target.subarray(0, used));
      this.mem.setU32(usedPtr, used);
      return Errno.Success;
    });
  }

  pathLink(oldFd: number, lookup: number, oldPtr: number, oldLength: number, newFd: number, newPtr: number, newLength: number): Errno {
    return this.inDirectory(oldFd, oldPtr, oldLength, (oldDir, oldPath) =>
      this.inDirectory(newFd, newPtr, newLength, (newDir, newPath) => {
        // As wasmtime: following a symlink at the source is not supported.
        if ((lookup & LOOKUP_SYMLINK_FOLLOW) !== 0) return Errno.Inval;
        this.fs!.link(oldDir.node, oldPath, newDir.node, newPath);
        return Errno.Success;
      }),
    );
  }

  pathRename(oldFd: number, oldPtr: number, oldLength: number, newFd: number, newPtr: number, newLength: number): Errno {
    return this.inDirectory(oldFd, oldPtr, oldLength, (oldDir, oldPath) =>
      this.inDirectory(newFd, newPtr, newLength, (newDir, newPath) => {
        this.fs!.rename(oldDir.node, oldPath, newDir.node, newPath);
        return Errno.Success;
      }),
    );
  }

  /** For socket calls: no descriptor here is a socket. */
  notSocket(fd: number): Errno {
    return this.table.has(fd) ? Errno.Notsock : Errno.Badf;
  }

  /** Resolves fd to a directory and the path argument to a string, then runs `operation`. */
  private inDirectory(
    fd: number,
    pathPtr: number,
    pathLength: number,
    operation: (dir: Extract<Descriptor, { kind: 'dir' }>, path: string) => Errno,
  ): Errno {
    const dir = this.dir(fd);
    if (typeof dir === 'number') return dir;
    const path = this.path(pathPtr, pathLength);
    if (typeof path === 'number') return path;
    return this.guard(() => operation(dir, path));
  }
}

function filetypeOf(node: FsNode): Filetype {
  return node.kind === 'dir' ? Filetype.Directory : node.kind === 'file' ? Filetype.RegularFile : Filetype.SymbolicLink;
}

function validTimeFlags(flags: number): boolean {
  if ((flags & ~(FSTFLAGS_ATIM | FSTFLAGS_ATIM_NOW | FSTFLAGS_MTIM | FSTFLAGS_MTIM_NOW)) !== 0) return false;
  if ((flags & FSTFLAGS_ATIM) !== 0 && (flags & FSTFLAGS_ATIM_NOW) !== 0) return false;
  return !((flags & FSTFLAGS_MTIM) !== 0 && (flags & FSTFLAGS_MTIM_NOW) !== 0);
}

function newTime(flags: number, given: number, now: number, time: bigint): NewTime {
  return (flags & given) !== 0 ? time : (flags & now) !== 0 ? 'now' : undefined;
}
