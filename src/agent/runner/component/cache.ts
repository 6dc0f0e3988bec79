/**
 * Transpiled components, kept so that a component is transpiled once per content: in memory (the
 * most recent ones) and on disk (across agent restarts), keyed by the component's integrity and
 * the transpiler's version, so a jco-transpile upgrade never runs glue made by another version.
 * Concurrent first requests of one key share one transpile.
 *
 * The disk side sits behind TranspileStore: one file per entry in its own folder, written to a
 * temporary name then renamed (never half-written), checked (sha256 of every part) when read back;
 * an entry that fails the check is transpiled again, never run.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { LruMap } from '../lru';
import { transpilerLocation } from './bindgen';
import { type Transpiled, transpileComponent } from './transpile';

export interface TranspileStore {
  read(key: string): Promise<Transpiled | undefined>;
  write(key: string, transpiled: Transpiled): Promise<void>;
}

export interface ComponentCacheOptions {
  /** Where transpiles outlive the process; none: memory only. */
  store?: TranspileStore;
  /** Transpiles kept in memory; default 16. */
  capacity?: number;
  /** Told when a disk entry was damaged or could not be written (the cache goes on without it). */
  onStoreProblem?: (message: string, error: unknown) => void;
  /** Default: jco-transpile in a worker thread. */
  transpile?: (component: Uint8Array) => Promise<Transpiled>;
}

export class ComponentCache {
  /** e.g. "@bytecodealliance/jco-transpile@0.15.0": part of every key. */
  readonly transpiler = `@bytecodealliance/jco-transpile@${transpilerLocation().version}`;
  private readonly memory: LruMap<string, Transpiled>;
  private readonly pending = new Map<string, Promise<Transpiled>>();
  private readonly transpile: (component: Uint8Array) => Promise<Transpiled>;
  /** Transpiles done by this process (not served from memory or disk): what tests and the bench count. */
  transpiles = 0;

  constructor(private readonly options: ComponentCacheOptions = {}) {
    this.memory = new LruMap(options.capacity ?? 16);
    this.transpile = options.transpile ?? ((component) => transpileComponent(component));
  }

  /** The transpile of the component with this integrity; `bytes` are read only when neither cache has it. */
  async transpiled(integrity: string, bytes: () => Promise<Uint8Array> | Uint8Array): Promise<Transpiled> {
    const key = `${integrity} ${this.transpiler}`;
    const cached = this.memory.get(key);
    if (cached) return cached;
    let pending = this.pending.get(key);
    if (!pending) {
      pending = this.load(key, bytes).finally(() => this.pending.delete(key));
      this.pending.set(key, pending);
    }
    return pending;
  }

  private async load(key: string, bytes: () => Promise<Uint8Array> | Uint8Array): Promise<Transpiled> {
    const stored = await this.options.store?.read(key).catch((error: unknown) => {
      this.options.onStoreProblem?.('a cached transpile of a component is damaged; transpiling it again', error);
      return undefined;
    });
    if (stored) {
      this.memory.set(key, stored);
      return stored;
    }
    const transpiled = await this.transpile(await bytes());
    this.transpiles++;
    this.memory.set(key, transpiled);
    await this.options.store?.write(key, transpiled).catch((error: unknown) => {
      this.options.onStoreProblem?.('could not keep a transpiled component on disk; it will be transpiled again after a restart', error);
    });
    return transpiled;
  }
}

/**
 * One file per entry: a 4-byte length, a JSON header (key, parts with their sizes and sha256),
 * then the parts' bytes (the glue first, then the core modules).
 */
export class DiskTranspileStore implements TranspileStore {
  constructor(readonly dir: string) {}

  async read(key: string): Promise<Transpiled | undefined> {
    let file: Buffer;
    try {
      file = await readFile(this.fileOf(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return decodeEntry(key, file);
  }

  async write(key: string, transpiled: Transpiled): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const target = this.fileOf(key);
    const temporary = `${target}.${process.pid}.${Date.now()}.tmp`;
    try {
      await writeFile(temporary, encodeEntry(key, transpiled));
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  private fileOf(key: string): string {
    return path.join(this.dir, `${createHash('sha256').update(key).digest('hex')}.transpiled`);
  }
}

interface EntryHeader {
  key: string;
  parts: { name: string; size: number; sha256: string }[];
}

const GLUE_PART = 'glue.js';

function encodeEntry(key: string, transpiled: Transpiled): Buffer {
  const parts: [string, Uint8Array][] = [[GLUE_PART, Buffer.from(transpiled.glue)], ...Object.entries(transpiled.coreModules)];
  const header: EntryHeader = {
    key,
    parts: parts.map(([name, bytes]) => ({ name, size: bytes.length, sha256: sha256(bytes) })),
  };
  const headerBytes = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(headerBytes.length);
  return Buffer.concat([length, headerBytes, ...parts.map(([, bytes]) => bytes)]);
}

function decodeEntry(key: string, file: Buffer): Transpiled {
  const damaged = (why: string): Error => new Error(`cached transpile is damaged: ${why}`);
  if (file.length < 4) throw damaged('too short');
  const headerLength = file.readUInt32LE(0);
  let header: EntryHeader;
  try {
    header = JSON.parse(file.subarray(4, 4 + headerLength).toString('utf8')) as EntryHeader;
  } catch {
    throw damaged('unreadable header');
  }
  if (header.key !== key) throw damaged('it is another entry');
  let offset = 4 + headerLength;
  const coreModules: Record<string, Uint8Array> = {};
  let glue: string | undefined;
  for (const part of header.parts) {
    const bytes = file.subarray(offset, offset + part.size);
    offset += part.size;
    if (bytes.length !== part.size || sha256(bytes) !== part.sha256) throw damaged(`${part.name} does not match its checksum`);
    if (part.name === GLUE_PART) glue = bytes.toString('utf8');
    else coreModules[part.name] = new Uint8Array(bytes);
  }
  if (glue === undefined || offset !== file.length) throw damaged('parts missing or extra bytes');
  return { glue, coreModules };
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
