/**
 * The local store's catalog on disk: an append-only journal of JSON lines, one per change, each
 * fsync'd before the change is acknowledged, compacted (rewritten with only the live entries,
 * atomically) when it grew past twice what it holds, so a store that lived through a million
 * publishes opens as fast as a new one.
 *
 *   {"op":"put","kind":"executable","name":"sh.serval.x","version":"1","integrity":"sha256-…","size":9,"at":1764…}
 *   {"op":"del","kind":"executable","name":"sh.serval.x","version":"1"}
 *   {"op":"del-job","name":"sh.serval.x"}
 *
 * A torn last line (a crash mid-append) was never acknowledged: it is cut off at open.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import type { BlobRef } from './catalog';
import { Catalog } from './catalog';
import type { BlobKind } from './contract';
import { syncDir, writeFileAtomic } from './durable';

export const JOURNAL_FILE = 'catalog-v1.jsonl';

export type JournalRecord =
  | { op: 'put'; kind: BlobKind; name: string; version: string; integrity: string; size: number; at: number }
  | { op: 'del'; kind: BlobKind; name: string; version: string }
  | { op: 'del-job'; name: string };

export interface LoadedJournal {
  catalog: Catalog;
  lines: number;
  /** Lines that did not parse (kept in the file until compaction, reported). */
  unreadable: number;
  /** Bytes of a torn last line, cut off. */
  tornBytes: number;
  lastAtMs: number;
}

const KINDS = new Set<string>(['manifest', 'executable', 'files']);

export function apply(catalog: Catalog, record: JournalRecord): void {
  if (record.op === 'put') {
    catalog.set(record.kind, record.name, record.version, { integrity: record.integrity, size: record.size, storedAtMs: record.at });
  } else if (record.op === 'del') {
    catalog.remove(record.kind, record.name, record.version);
  } else {
    catalog.removeJob(record.name);
  }
}

function parseRecord(line: string): JournalRecord | undefined {
  try {
    const value = JSON.parse(line) as Partial<Record<string, unknown>>;
    if (typeof value.name !== 'string') return undefined;
    if (value.op === 'del-job') return { op: 'del-job', name: value.name };
    if (typeof value.kind !== 'string' || !KINDS.has(value.kind) || typeof value.version !== 'string') return undefined;
    const base = { kind: value.kind as BlobKind, name: value.name, version: value.version };
    if (value.op === 'del') return { op: 'del', ...base };
    if (value.op !== 'put' || typeof value.integrity !== 'string' || typeof value.size !== 'number' || typeof value.at !== 'number') {
      return undefined;
    }
    return { op: 'put', ...base, integrity: value.integrity, size: value.size, at: value.at };
  } catch {
    return undefined;
  }
}

export class Journal {
  private constructor(
    private readonly file: string,
    private bytes: number,
    private lineCount: number,
  ) {}

  /** Reads the journal (cutting off a torn last line) and opens it for appending. */
  static async open(location: string): Promise<{ journal: Journal; loaded: LoadedJournal }> {
    const file = path.join(location, JOURNAL_FILE);
    const text = await fs.readFile(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return Buffer.alloc(0);
      throw error;
    });
    const loaded = loadText(text);
    const keptBytes = text.byteLength - loaded.tornBytes;
    if (loaded.tornBytes > 0) {
      const handle = await fs.open(file, 'r+');
      try {
        await handle.truncate(keptBytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    return { journal: new Journal(file, keptBytes, loaded.lines), loaded };
  }

  get lines(): number {
    return this.lineCount;
  }

  /**
   * Appends the records as one write and fsyncs; on failure the file is cut back to what it was.
   * Opened per append, not held open: the file system can be remounted (read-only, say) under a
   * running agent, whose next change then fails cleanly.
   */
  async append(records: readonly JournalRecord[]): Promise<void> {
    const data = Buffer.from(records.map((record) => `${JSON.stringify(record)}\n`).join(''));
    const created = this.bytes === 0;
    const handle = await fs.open(this.file, 'a', 0o644);
    try {
      let offset = 0;
      while (offset < data.byteLength) {
        const { bytesWritten } = await handle.write(data, offset, data.byteLength - offset);
        offset += bytesWritten;
      }
      await handle.datasync();
    } catch (error) {
      // A partial line would glue itself to the next record: cut it off (truncating frees space).
      await handle.truncate(this.bytes).catch(() => undefined);
      throw error;
    } finally {
      await handle.close().catch(() => undefined);
    }
    if (created) await syncDir(path.dirname(this.file));
    this.bytes += data.byteLength;
    this.lineCount += records.length;
  }

  /** Rewrites the journal with one put per live entry (atomic rename), then appends to the new file. */
  async compact(catalog: Catalog): Promise<void> {
    const lines: string[] = [];
    for (const { kind, name, version, ref } of catalog.entries()) lines.push(`${JSON.stringify(putRecord(kind, name, version, ref))}\n`);
    const data = Buffer.from(lines.join(''));
    await writeFileAtomic(this.file, data);
    this.bytes = data.byteLength;
    this.lineCount = lines.length;
  }

}

export function putRecord(kind: BlobKind, name: string, version: string, ref: BlobRef): JournalRecord {
  return { op: 'put', kind, name, version, integrity: ref.integrity, size: ref.size, at: ref.storedAtMs };
}

function loadText(text: Buffer): LoadedJournal {
  const catalog = new Catalog();
  let lines = 0;
  let unreadable = 0;
  let lastAtMs = 0;
  let start = 0;
  while (start < text.byteLength) {
    const end = text.indexOf(0x0a, start);
    if (end < 0) break;
    const record = parseRecord(text.toString('utf8', start, end));
    lines++;
    if (record) {
      apply(catalog, record);
      if (record.op === 'put') lastAtMs = Math.max(lastAtMs, record.at);
    } else {
      unreadable++;
    }
    start = end + 1;
  }
  return { catalog, lines, unreadable, tornBytes: text.byteLength - start, lastAtMs };
}
