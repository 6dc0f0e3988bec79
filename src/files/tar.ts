/**
 * The `files` archive of a job version: a tar (ustar, with pax records for long names), optionally
 * gzip-compressed. Written by the client from a folder, read by the agent, which refuses anything
 * that could reach outside the tree or exhaust it: absolute paths, `..`, links pointing out,
 * devices, too many or too large entries, and compressed archives that expand past the limit.
 *
 * Pure: no file system, no vscode.
 */
import { gunzipSync } from 'node:zlib';

export type TarEntry =
  | { kind: 'dir'; path: string; mtimeMs: number }
  | { kind: 'file'; path: string; data: Uint8Array; mtimeMs: number }
  | { kind: 'symlink'; path: string; target: string; mtimeMs: number };

export interface TarLimits {
  /** Entries in the archive (files, folders and links). */
  maxEntries: number;
  /** Bytes of all files together, once unpacked (and, for gzip, of the whole tar). */
  maxBytes: number;
}

export const DEFAULT_TAR_LIMITS: TarLimits = { maxEntries: 10_000, maxBytes: 256 * 1024 * 1024 };
const MAX_PATH_BYTES = 4096;
const MAX_DEPTH = 64;
const BLOCK = 512;

/** The archive cannot be used; the message says why, for the person who made it. */
export class TarError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarError';
  }
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

// ---- reading ------------------------------------------------------------------------------------

/** Every entry of the archive, checked; later entries of the same path replace earlier ones. */
export function readTar(archive: Uint8Array, limits: TarLimits = DEFAULT_TAR_LIMITS): TarEntry[] {
  const bytes = isGzip(archive) ? gunzip(archive, limits.maxBytes) : archive;
  const entries = new Map<string, TarEntry>();
  const hardLinks: { path: string; target: string; mtimeMs: number }[] = [];
  let total = 0;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  for (let offset = 0; ; ) {
    if (offset + BLOCK > bytes.length) throw new TarError('the archive ends in the middle of an entry (truncated tar)');
    const header = bytes.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) break;
    checkChecksum(header, offset);
    const type = String.fromCharCode(header[156] || 0x30);
    const size = pax.size !== undefined ? Number(pax.size) : readNumber(header, 124, 12);
    if (!Number.isSafeInteger(size) || size < 0) throw new TarError(`the entry at byte ${offset} has an invalid size`);
    const dataStart = offset + BLOCK;
    const dataEnd = dataStart + size;
    if (dataEnd > bytes.length) throw new TarError('the archive ends in the middle of an entry (truncated tar)');
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    const data = bytes.subarray(dataStart, dataEnd);
    if (type === 'x') {
      pax = { ...pax, ...readPax(data) };
      continue;
    }
    if (type === 'g') continue;
    if (type === 'L' || type === 'K') {
      const text = cString(data);
      if (type === 'L') longName = text;
      else longLink = text;
      continue;
    }
    const rawPath = pax.path ?? longName ?? headerPath(header);
    const rawLink = pax.linkpath ?? longLink ?? cString(header.subarray(157, 257));
    pax = {};
    longName = longLink = undefined;
    const path = checkedPath(rawPath);
    const mtimeMs = readNumber(header, 136, 12) * 1000;
    if (entries.size + hardLinks.length >= limits.maxEntries) {
      throw new TarError(`the archive has more than ${limits.maxEntries} entries; a job's files may have at most that many`);
    }
    if (type === '0' || type === '\0' || type === '7') {
      total += size;
      if (total > limits.maxBytes) throw tooBig(limits.maxBytes);
      if (path === '') throw new TarError('a file entry of the archive has an empty name');
      entries.set(path, { kind: 'file', path, data, mtimeMs });
    } else if (type === '5') {
      if (path !== '') entries.set(path, { kind: 'dir', path, mtimeMs });
    } else if (type === '2') {
      entries.set(path, { kind: 'symlink', path, target: checkedLinkTarget(path, rawLink), mtimeMs });
    } else if (type === '1') {
      hardLinks.push({ path, target: checkedPath(rawLink), mtimeMs });
    } else {
      throw new TarError(`${rawPath} is a ${ENTRY_TYPE_NAMES[type] ?? `tar entry of type '${type}'`}; a job's files may hold only files, folders and links`);
    }
  }
  for (const link of hardLinks) {
    const target = entries.get(link.target);
    if (target?.kind !== 'file') throw new TarError(`the hard link ${link.path} points to ${link.target}, which is no file of the archive`);
    total += target.data.length;
    if (total > limits.maxBytes) throw tooBig(limits.maxBytes);
    entries.set(link.path, { kind: 'file', path: link.path, data: target.data, mtimeMs: link.mtimeMs });
  }
  return [...entries.values()];
}

const ENTRY_TYPE_NAMES: Record<string, string> = { '3': 'character device', '4': 'block device', '6': 'named pipe (FIFO)' };

function tooBig(limit: number): TarError {
  return new TarError(`the archive's files take more than ${limit} bytes unpacked; a job's files must fit the job's memory limit`);
}

function gunzip(archive: Uint8Array, maxBytes: number): Uint8Array {
  try {
    // Bounded: a gzip bomb stops at the limit instead of filling the agent's memory.
    return gunzipSync(archive, { maxOutputLength: maxBytes + 64 * BLOCK });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) throw tooBig(maxBytes);
    throw new TarError(`the archive is not valid gzip (${(error as Error).message})`);
  }
}

function checkChecksum(header: Uint8Array, offset: number): void {
  const stored = readNumber(header, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
  if (sum !== stored) throw new TarError(`the archive is not a tar file (bad header checksum at byte ${offset})`);
}

/** An octal field, or GNU base-256 for large values. */
function readNumber(header: Uint8Array, at: number, length: number): number {
  const field = header.subarray(at, at + length);
  if ((field[0]! & 0x80) !== 0) {
    let value = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    return value;
  }
  const text = cString(field).trim();
  return text === '' ? 0 : parseInt(text, 8);
}

const decoder = new TextDecoder();

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return decoder.decode(end < 0 ? bytes : bytes.subarray(0, end));
}

function headerPath(header: Uint8Array): string {
  const name = cString(header.subarray(0, 100));
  const isUstar = cString(header.subarray(257, 263)).startsWith('ustar');
  const prefix = isUstar ? cString(header.subarray(345, 500)) : '';
  return prefix ? `${prefix}/${name}` : name;
}

function readPax(data: Uint8Array): Record<string, string> {
  const records: Record<string, string> = {};
  const text = decoder.decode(data);
  for (let at = 0; at < text.length; ) {
    const space = text.indexOf(' ', at);
    const length = parseInt(text.slice(at, space), 10);
    if (space < 0 || !(length > 0)) break;
    const record = text.slice(space + 1, at + length - 1);
    const equals = record.indexOf('=');
    if (equals > 0) records[record.slice(0, equals)] = record.slice(equals + 1);
    at += length;
  }
  return records;
}

/** A relative path inside the tree, normalized ('a/./b/' → 'a/b'); refuses absolute paths and `..`. */
function checkedPath(raw: string): string {
  if (raw.includes('\0')) throw new TarError('an entry name contains a NUL character');
  if (Buffer.byteLength(raw) > MAX_PATH_BYTES) throw new TarError(`an entry name is longer than ${MAX_PATH_BYTES} bytes`);
  if (raw.startsWith('/') || /^[A-Za-z]:[\\/]/.test(raw)) throw new TarError(`${raw} is an absolute path; a job's files are relative to its folder`);
  const parts = raw.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw new TarError(`${raw} contains '..', which would reach outside the job's folder`);
  if (parts.length > MAX_DEPTH) throw new TarError(`${raw} is nested deeper than ${MAX_DEPTH} folders`);
  return parts.join('/');
}

/** A symlink's target, which must stay inside the tree (relative, never above the root). */
function checkedLinkTarget(path: string, target: string): string {
  if (target === '' || target.includes('\0')) throw new TarError(`the link ${path} has an empty or invalid target`);
  if (target.startsWith('/')) throw new TarError(`the link ${path} points to the absolute path ${target}, outside the job's folder`);
  if (linkLeavesTree(path, target)) throw new TarError(`the link ${path} points to ${target}, outside the job's folder`);
  return target;
}

/**
 * Whether a relative link target (with '/' separators) at `linkPath` climbs above the tree's root:
 * one rule for the archives the agent takes and the folders the clients pack.
 */
export function linkLeavesTree(linkPath: string, target: string): boolean {
  let depth = linkPath.split('/').length - 1;
  for (const part of target.split('/')) {
    if (part === '..') depth--;
    else if (part !== '' && part !== '.') depth++;
    if (depth < 0) return true;
  }
  return false;
}

// ---- writing ------------------------------------------------------------------------------------

const encoder = new TextEncoder();

/** A ustar archive of the entries (pax records for names and link targets that do not fit). */
export function writeTar(entries: readonly TarEntry[]): Buffer {
  const blocks: Uint8Array[] = [];
  for (const entry of entries) {
    const data = entry.kind === 'file' ? entry.data : new Uint8Array(0);
    const name = entry.kind === 'dir' ? `${entry.path}/` : entry.path;
    const link = entry.kind === 'symlink' ? entry.target : '';
    const records: string[] = [];
    if (encoder.encode(name).length > 100) records.push(paxRecord('path', name));
    if (encoder.encode(link).length > 100) records.push(paxRecord('linkpath', link));
    if (records.length > 0) {
      const body = encoder.encode(records.join(''));
      blocks.push(header('PaxHeader', 'x', body.length, 0, ''), padded(body));
    }
    const type = entry.kind === 'dir' ? '5' : entry.kind === 'symlink' ? '2' : '0';
    blocks.push(header(name, type, data.length, entry.mtimeMs, link), padded(data));
  }
  blocks.push(new Uint8Array(BLOCK * 2));
  return Buffer.concat(blocks);
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = encoder.encode(body).length;
  // The length counts its own digits: settle on the length whose digits it includes.
  let length = bodyLength;
  while (bodyLength + String(length).length !== length) length = bodyLength + String(length).length;
  return `${length}${body}`;
}

function padded(data: Uint8Array): Uint8Array {
  const size = Math.ceil(data.length / BLOCK) * BLOCK;
  if (size === data.length) return data;
  const block = new Uint8Array(size);
  block.set(data);
  return block;
}

function header(name: string, type: string, size: number, mtimeMs: number, link: string): Uint8Array {
  const block = new Uint8Array(BLOCK);
  const put = (at: number, length: number, text: string): void => block.set(encoder.encode(text).subarray(0, length), at);
  const octal = (at: number, length: number, value: number): void => put(at, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
  put(0, 100, name);
  octal(100, 8, type === '5' ? 0o755 : 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, Math.max(0, Math.floor(mtimeMs / 1000)));
  put(148, 8, '        ');
  put(156, 1, type);
  put(157, 100, link);
  put(257, 6, 'ustar\0');
  put(263, 2, '00');
  let sum = 0;
  for (const byte of block) sum += byte;
  put(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return block;
}
