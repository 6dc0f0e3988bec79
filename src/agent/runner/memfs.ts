/**
 * An in-memory filesystem for one run of a job: a tree of directories, files and symbolic links
 * that lives as long as the run and never touches the host's disk.
 *
 * It knows nothing of any WASI ABI: WASI preview1 (wasi.ts) and WASI 0.2 hosts adapt it. It
 * resolves paths the way a capability-based runtime (wasmtime, cap-std) does: relative to a
 * directory handle, `..` never above that handle, no absolute paths, symlinks followed within the
 * tree only. Failures are FsError with a POSIX code (ENOENT, ENOTDIR, ...).
 *
 * Its bytes are bounded by a budget: a write that would take the tree past it fails with ENOSPC.
 * Files from a shared image are referenced, and copied only when first written.
 */

export type FsErrorCode =
  | 'EACCES'
  | 'EBADF'
  | 'EBUSY'
  | 'EEXIST'
  | 'EFBIG'
  | 'EINVAL'
  | 'EISDIR'
  | 'ELOOP'
  | 'ENAMETOOLONG'
  | 'ENOENT'
  | 'ENOSPC'
  | 'ENOTCAPABLE'
  | 'ENOTDIR'
  | 'ENOTEMPTY'
  | 'EPERM'
  | 'EXDEV';

export class FsError extends Error {
  constructor(readonly code: FsErrorCode, detail = '') {
    super(detail ? `${code}: ${detail}` : code);
  }
}

interface NodeBase {
  readonly ino: bigint;
  nlink: number;
  /** Nanoseconds since the epoch. */
  atim: bigint;
  mtim: bigint;
  ctim: bigint;
}
export interface FileNode extends NodeBase {
  kind: 'file';
  /** Bytes 0..size are the content; beyond is spare room. */
  data: Uint8Array;
  size: number;
  /** `data` is a view of a shared image: copy before the first write. */
  borrowed: boolean;
}
export interface DirNode extends NodeBase {
  kind: 'dir';
  entries: Map<string, FsNode>;
  /** undefined for the root */
  parent: DirNode | undefined;
  /** Removed from the tree while a handle still names it: nothing can be created in it. */
  removed: boolean;
}
export interface SymlinkNode extends NodeBase {
  kind: 'symlink';
  target: string;
}
export type FsNode = FileNode | DirNode | SymlinkNode;

/** One entry of an image: what an archive holds, relative paths with '/' separators. */
export type ImageEntry =
  | { kind: 'dir'; path: string; mtimeMs?: number }
  | { kind: 'file'; path: string; offset: number; length: number; mtimeMs?: number }
  | { kind: 'symlink'; path: string; target: string; mtimeMs?: number };

/** A tree in a form that crosses threads cheaply: entries plus one buffer holding every file's bytes. */
export interface FsImage {
  entries: ImageEntry[];
  data: Uint8Array;
}

/** Where a path led: the directory holding the last component, its name, and the node if any. */
export interface Resolved {
  parent: DirNode;
  name: string;
  node: FsNode | undefined;
  /** The path ended with '/' (so it names a directory, or nothing yet). */
  trailingSlash: boolean;
}

export interface OpenOptions {
  follow: boolean;
  create: boolean;
  exclusive: boolean;
  directory: boolean;
  truncate?: boolean;
  writable?: boolean;
}

/** A time to set: nanoseconds since the epoch, `now`, or undefined to leave it. */
export type NewTime = bigint | 'now' | undefined;

/** As Linux: at most 40 symbolic links in one resolution. */
const MAX_SYMLINKS = 40;
const MAX_NAME_BYTES = 255;

export function nowNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
}

export class MemFs {
  readonly root: DirNode;
  private nextIno = 1n;
  private usedBytes = 0;

  /**
   * `budget` says how many more bytes the tree may take now (it may depend on what else the job
   * holds, e.g. its linear memory); the tree's own bytes are counted by the filesystem.
   */
  constructor(private readonly budget: (treeBytes: number) => boolean = () => true) {
    this.root = this.newDir(undefined);
  }

  /** The tree of an image; its file bytes are shared with the image until written. */
  static fromImage(image: FsImage, budget?: (treeBytes: number) => boolean): MemFs {
    const fs = new MemFs(budget);
    for (const entry of image.entries) {
      const parts = entry.path.split('/').filter((p) => p !== '' && p !== '.');
      if (parts.length === 0) continue;
      let dir = fs.root;
      for (const part of parts.slice(0, -1)) {
        let next = dir.entries.get(part);
        if (!next) {
          next = fs.newDir(dir);
          dir.entries.set(part, next);
        }
        if (next.kind !== 'dir') throw new FsError('ENOTDIR', entry.path);
        dir = next;
      }
      const name = parts[parts.length - 1]!;
      const mtim = entry.mtimeMs !== undefined ? BigInt(Math.round(entry.mtimeMs)) * 1_000_000n : undefined;
      const existing = dir.entries.get(name);
      let node: FsNode;
      if (entry.kind === 'dir') {
        node = existing?.kind === 'dir' ? existing : fs.newDir(dir);
      } else if (entry.kind === 'file') {
        node = fs.newFile(image.data.subarray(entry.offset, entry.offset + entry.length), true);
        fs.usedBytes += entry.length;
      } else {
        node = fs.newSymlink(entry.target);
      }
      if (mtim !== undefined) node.mtim = mtim;
      dir.entries.set(name, node);
    }
    return fs;
  }

  /** Bytes the tree's files hold now. */
  get bytes(): number {
    return this.usedBytes;
  }

  // ---- nodes ----------------------------------------------------------------------------------

  private stamp(): Omit<NodeBase, 'nlink'> {
    const now = nowNs();
    return { ino: this.nextIno++, atim: now, mtim: now, ctim: now };
  }

  newDir(parent: DirNode | undefined): DirNode {
    return { kind: 'dir', entries: new Map(), parent, removed: false, nlink: 1, ...this.stamp() };
  }

  private newFile(data: Uint8Array = new Uint8Array(0), borrowed = false): FileNode {
    return { kind: 'file', data, size: data.length, borrowed, nlink: 1, ...this.stamp() };
  }

  private newSymlink(target: string): SymlinkNode {
    return { kind: 'symlink', target, nlink: 1, ...this.stamp() };
  }

  // ---- paths ----------------------------------------------------------------------------------

  /**
   * Resolves `path` relative to `base`. Every component but the last must be a directory (symlinks
   * followed); the last is followed only with `follow` (or a trailing slash). `..` above `base`
   * and absolute paths are ENOTCAPABLE / EPERM: a handle sees its own subtree only.
   */
  resolve(base: DirNode, path: string, follow: boolean): Resolved {
    if (path === '') throw new FsError('ENOENT', 'empty path');
    if (path.includes('\0')) throw new FsError('EINVAL', 'NUL in path');
    if (path.startsWith('/')) throw new FsError('EPERM', `absolute path ${path}`);
    const stack: DirNode[] = [base];
    const pending = path.split('/');
    const trailingSlash = path.endsWith('/');
    while (pending.length > 1 && pending[pending.length - 1] === '') pending.pop();
    let links = 0;
    for (;;) {
      // Skip empty components ("a//b", a trailing "/") and ".".
      while (pending.length > 1 && (pending[0] === '' || pending[0] === '.')) pending.shift();
      const part = pending.shift()!;
      const last = pending.length === 0;
      const dir = stack[stack.length - 1]!;
      if (part === '' || part === '.' || part === '..') {
        if (part === '..') {
          if (stack.length === 1) throw new FsError('ENOTCAPABLE', `${path} leads outside its directory`);
          stack.pop();
        }
        if (last) {
          const here = stack[stack.length - 1]!;
          return { parent: here.parent ?? here, name: '.', node: here, trailingSlash };
        }
        continue;
      }
      if (Buffer.byteLength(part) > MAX_NAME_BYTES) throw new FsError('ENAMETOOLONG', part);
      const node = dir.entries.get(part);
      const slashAfter = last ? trailingSlash : true;
      if (node?.kind === 'symlink' && (!last || follow || slashAfter)) {
        if (++links > MAX_SYMLINKS) throw new FsError('ELOOP', path);
        if (node.target.startsWith('/')) throw new FsError('ENOTCAPABLE', `symlink to ${node.target}`);
        const expanded = node.target.split('/').filter((p) => p !== '');
        if (expanded.length === 0) throw new FsError('ENOENT', `empty symlink ${part}`);
        pending.unshift(...expanded);
        continue;
      }
      if (last) return { parent: dir, name: part, node, trailingSlash };
      if (!node) throw new FsError('ENOENT', part);
      if (node.kind !== 'dir') throw new FsError('ENOTDIR', part);
      stack.push(node);
    }
  }

  /** As resolve, and the node must exist (a trailing slash then requires a directory). */
  lookup(base: DirNode, path: string, follow: boolean): FsNode {
    const { node, trailingSlash } = this.resolve(base, path, follow);
    if (!node) throw new FsError('ENOENT', path);
    if (trailingSlash && node.kind !== 'dir') throw new FsError('ENOTDIR', path);
    return node;
  }

  // ---- operations -------------------------------------------------------------------------------

  /**
   * Opens (and with `create`, makes) a file or directory. `exclusive`: fail if it exists.
   * `truncate` empties a file, which needs `writable`; a directory opens neither writable nor truncated.
   */
  open(base: DirNode, path: string, options: OpenOptions): FileNode | DirNode {
    const resolved = this.resolve(base, path, options.follow);
    const { parent, name, trailingSlash } = resolved;
    let node = resolved.node;
    if (node && options.create && options.exclusive) throw new FsError('EEXIST', path);
    if (!node) {
      if (!options.create || options.directory) throw new FsError('ENOENT', path);
      if (trailingSlash) throw new FsError('EISDIR', path);
      this.checkWritableDir(parent);
      node = this.newFile();
      parent.entries.set(name, node);
      this.touch(parent);
      return node;
    }
    if (node.kind === 'symlink') throw new FsError('ELOOP', `${path} is a symbolic link`);
    if ((options.directory || trailingSlash) && node.kind !== 'dir') throw new FsError('ENOTDIR', path);
    if (node.kind === 'dir') {
      if (options.truncate || options.writable) throw new FsError('EISDIR', path);
    } else if (options.truncate) {
      if (!options.writable) throw new FsError('EINVAL', `${path} cannot be truncated without opening it for writing`);
      this.truncate(node, 0);
    }
    return node;
  }

  mkdir(base: DirNode, path: string): DirNode {
    const { parent, name, node } = this.resolve(base, path, false);
    if (node || name === '.') throw new FsError('EEXIST', path);
    this.checkWritableDir(parent);
    const dir = this.newDir(parent);
    parent.entries.set(name, dir);
    this.touch(parent);
    return dir;
  }

  rmdir(base: DirNode, path: string): void {
    const { parent, name, node } = this.resolve(base, path, false);
    if (!node) throw new FsError('ENOENT', path);
    if (name === '.') throw new FsError('EINVAL', `cannot remove ${path}`);
    if (node.kind !== 'dir') throw new FsError('ENOTDIR', path);
    if (node.entries.size > 0) throw new FsError('ENOTEMPTY', path);
    parent.entries.delete(name);
    node.removed = true;
    this.touch(parent);
  }

  unlink(base: DirNode, path: string): void {
    const { parent, name, node, trailingSlash } = this.resolve(base, path, false);
    if (!node) throw new FsError('ENOENT', path);
    if (node.kind === 'dir') throw new FsError('EISDIR', path);
    if (trailingSlash) throw new FsError('ENOTDIR', path);
    parent.entries.delete(name);
    this.release(node);
    this.touch(parent);
  }

  symlink(target: string, base: DirNode, path: string): void {
    if (target.startsWith('/')) throw new FsError('EPERM', `absolute symlink target ${target}`);
    if (target.includes('\0')) throw new FsError('EINVAL', 'NUL in symlink target');
    const { parent, name, node, trailingSlash } = this.resolve(base, path, false);
    if (node) throw new FsError(trailingSlash && node.kind !== 'dir' ? 'ENOTDIR' : 'EEXIST', path);
    if (trailingSlash) throw new FsError('ENOENT', path);
    this.checkWritableDir(parent);
    parent.entries.set(name, this.newSymlink(target));
    this.touch(parent);
  }

  readlink(base: DirNode, path: string): string {
    const { node } = this.resolve(base, path, false);
    if (!node) throw new FsError('ENOENT', path);
    if (node.kind !== 'symlink') throw new FsError('EINVAL', `${path} is not a symbolic link`);
    return node.target;
  }

  /** A hard link: never to a directory, never following a symlink at the source. */
  link(oldBase: DirNode, oldPath: string, newBase: DirNode, newPath: string): void {
    const source = this.resolve(oldBase, oldPath, false);
    if (!source.node) throw new FsError('ENOENT', oldPath);
    if (source.node.kind === 'dir') throw new FsError('EPERM', `${oldPath} is a directory`);
    if (source.trailingSlash) throw new FsError('ENOTDIR', oldPath);
    const target = this.resolve(newBase, newPath, false);
    if (target.node) throw new FsError('EEXIST', newPath);
    if (target.trailingSlash) throw new FsError('ENOENT', newPath);
    this.checkWritableDir(target.parent);
    target.parent.entries.set(target.name, source.node);
    source.node.nlink++;
    source.node.ctim = nowNs();
    this.touch(target.parent);
  }

  rename(oldBase: DirNode, oldPath: string, newBase: DirNode, newPath: string): void {
    const source = this.resolve(oldBase, oldPath, false);
    const moving = source.node;
    if (!moving) throw new FsError('ENOENT', oldPath);
    if (source.name === '.') throw new FsError('EBUSY', oldPath);
    const target = this.resolve(newBase, newPath, false);
    if (target.name === '.') throw new FsError('EBUSY', newPath);
    if (moving.kind !== 'dir' && (source.trailingSlash || target.trailingSlash)) throw new FsError('ENOTDIR', oldPath);
    const existing = target.node;
    if (existing === moving) return;
    if (moving.kind === 'dir') {
      for (let dir: DirNode | undefined = target.parent; dir; dir = dir.parent) {
        if (dir === moving) throw new FsError('EINVAL', `${newPath} is inside ${oldPath}`);
      }
    }
    if (existing) {
      if (moving.kind === 'dir') {
        if (existing.kind !== 'dir') throw new FsError('ENOTDIR', newPath);
        if (existing.entries.size > 0) throw new FsError('ENOTEMPTY', newPath);
        existing.removed = true;
      } else if (existing.kind === 'dir') {
        throw new FsError('EISDIR', newPath);
      } else {
        this.release(existing);
      }
    }
    this.checkWritableDir(target.parent);
    source.parent.entries.delete(source.name);
    target.parent.entries.set(target.name, moving);
    if (moving.kind === 'dir') moving.parent = target.parent;
    moving.ctim = nowNs();
    this.touch(source.parent);
    this.touch(target.parent);
  }

  // ---- file content -----------------------------------------------------------------------------

  read(file: FileNode, position: number, into: Uint8Array): number {
    if (position >= file.size) return 0;
    const count = Math.min(into.length, file.size - position);
    into.set(file.data.subarray(position, position + count));
    return count;
  }

  /** Writes at `position` (zero-filling any gap); ENOSPC past the budget. Returns bytes written. */
  write(file: FileNode, position: number, chunk: Uint8Array): number {
    const end = position + chunk.length;
    if (end > Number.MAX_SAFE_INTEGER) throw new FsError('EFBIG');
    this.reserve(file, end);
    file.data.set(chunk, position);
    if (end > file.size) file.size = end;
    file.mtim = file.ctim = nowNs();
    return chunk.length;
  }

  truncate(file: FileNode, size: number): void {
    if (size > file.size) {
      this.reserve(file, size);
    } else {
      if (file.borrowed) this.own(file, size);
      file.data.fill(0, size, file.size);
      this.usedBytes -= file.size - size;
    }
    file.size = size;
    file.mtim = file.ctim = nowNs();
  }

  /** Makes room for `end` bytes (copying a borrowed file), within the budget. */
  private reserve(file: FileNode, end: number): void {
    const grow = Math.max(0, end - file.size);
    if (grow > 0 && !this.budget(this.usedBytes + grow)) throw new FsError('ENOSPC', 'the job\'s memory limit');
    if (file.borrowed || end > file.data.length) this.own(file, file.borrowed ? end : this.capacityFor(end, grow));
    if (end > file.size) {
      file.data.fill(0, file.size, end);
      this.usedBytes += grow;
    }
  }

  /**
   * Room for `end` bytes and some to spare, so that a file written chunk by chunk is copied a few
   * times in all, not once per chunk (a 1 MiB step made a 256 MiB file cost ~30 s). The spare room
   * is host memory too, so it is at most what the budget still allows: near the limit the file
   * takes the rest of it at once, instead of being copied whole for every small write up to it.
   */
  private capacityFor(end: number, grow: number): number {
    const wanted = Math.max(end >> 1, 1 << 16);
    const fits = (spare: number) => this.budget(this.usedBytes + grow + spare);
    if (fits(wanted)) return end + wanted;
    // The budget is a yes/no question: find the most spare room it allows, to within a page.
    let allowed = 0;
    let refused = wanted;
    while (refused - allowed > 4096) {
      const middle = allowed + Math.floor((refused - allowed) / 2);
      if (fits(middle)) allowed = middle;
      else refused = middle;
    }
    return end + allowed;
  }

  private own(file: FileNode, capacity: number): void {
    const data = new Uint8Array(Math.max(capacity, file.size));
    data.set(file.data.subarray(0, file.size));
    file.data = data;
    file.borrowed = false;
  }

  /** utimensat: access and modification times (the status change time is the tree's own). */
  setTimes(node: FsNode, atime: NewTime, mtime: NewTime): void {
    const now = nowNs();
    if (atime !== undefined) node.atim = atime === 'now' ? now : atime;
    if (mtime !== undefined) node.mtim = mtime === 'now' ? now : mtime;
  }

  private release(node: FsNode): void {
    node.nlink--;
    node.ctim = nowNs();
    if (node.nlink === 0 && node.kind === 'file') this.usedBytes -= node.size;
  }

  private checkWritableDir(dir: DirNode): void {
    if (dir.removed) throw new FsError('ENOENT', 'the directory was removed');
  }

  private touch(dir: DirNode): void {
    dir.mtim = dir.ctim = nowNs();
  }
}

// ---- what a run sees -------------------------------------------------------------------------------

/** The name of the tree's preopened directory, as the wire contract says (docs/agent-api.md). */
export const PREOPEN_NAME = '/';
/** Top-level folders preopened by name besides `/`, at most. */
const MAX_NAMED_PREOPENS = 16;

/**
 * A run's tree, from its version's files. Its bytes and the job's own memory (`guestBytes`: the
 * linear memories it has now) share the job's memory limit: past it, a write fails with ENOSPC.
 */
export function jobTree(image: FsImage, memoryLimitBytes: number | undefined, guestBytes: () => number): MemFs {
  const limit = memoryLimitBytes ?? Number.POSITIVE_INFINITY;
  return MemFs.fromImage(image, (treeBytes) => treeBytes + guestBytes() <= limit);
}

/**
 * The directories a run is given, in order, whatever its ABI: the tree as `/`, then each top-level
 * folder under its own name (sorted), the same directory as seen through `/`, so that a program
 * that looks for the directory it was given by name (as with `wasmtime --dir NAME`) finds it.
 */
export function preopenedDirectories(fs: MemFs): [string, DirNode][] {
  const named = [...fs.root.entries]
    .filter((entry): entry is [string, DirNode] => entry[1].kind === 'dir')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, MAX_NAMED_PREOPENS);
  return [[PREOPEN_NAME, fs.root], ...named];
}
