/**
 * The component host's wasi:filesystem, called as jco's glue calls it, for what the preview1
 * adapter never asks (agent.componentFiles.test.ts runs C programs through it): what a component
 * built for WASI 0.2 directly (Rust's wasm32-wasip2, TinyGo, componentize-py) may call.
 */
import * as assert from 'node:assert/strict';

import { imageOf } from '../../src/agent/files/filesImages';
import { ComponentHost } from '../../src/agent/runner/component/host';
import { MemorySink } from '../../src/agent/runner/wasi';

const enc = new TextEncoder();
const MiB = 1024 * 1024;

/* The glue's view of a descriptor: every member by its camelCase name. */
type Descriptor = Record<string, (...args: unknown[]) => any>;

function hostWith(files?: ReturnType<typeof imageOf>, memoryBytes?: number, guestBytes = 0) {
  const host = new ComponentHost(new MemorySink(MiB), new MemorySink(MiB));
  host.beginRun({ stdin: new Uint8Array(0), args: ['job'], env: [], files, memoryBytes }, () => guestBytes);
  const getDirectories = host.imports['wasi:filesystem/preopens']!.getDirectories as () => [Descriptor, string][];
  const types = host.imports['wasi:filesystem/types'] as { filesystemErrorCode: (error: unknown) => string | undefined };
  return { directories: getDirectories(), getDirectories, types };
}

/** What the glue makes the err payload of: the value thrown. */
function thrown(operation: () => unknown): unknown {
  try {
    operation();
  } catch (error) {
    return error;
  }
  assert.fail('expected the call to fail');
}

const TREE = imageOf([
  { kind: 'file', path: 'a.txt', data: enc.encode('alpha'), mtimeMs: 0 },
  { kind: 'dir', path: 'd', mtimeMs: 0 },
  { kind: 'symlink', path: 'to-a', target: 'a.txt', mtimeMs: 0 },
]);

describe('component host: wasi:filesystem as a WASI 0.2 program calls it', () => {
  it('preopens nothing without files', () => {
    assert.deepEqual(hostWith().directories, []);
  });

  it('preopens the tree as / and each top-level folder by name, fresh handles on each call', () => {
    const { directories, getDirectories } = hostWith(TREE);
    assert.deepEqual(directories.map(([, name]) => name), ['/', 'd']);
    const [again] = getDirectories()[0]!;
    assert.notEqual(again, directories[0]![0], 'a new handle, which the glue owns');
    assert.equal(again.isSameObject(directories[0]![0]), true);
    assert.deepEqual(directories[0]![0].getFlags(), { read: true, mutateDirectory: true });
    assert.equal(directories[0]![0].getType(), 'directory');
  });

  it('reads and writes at offsets, with eof, and lists entries without . and ..', () => {
    const root = hostWith(TREE).directories[0]![0];
    const file = root.openAt({}, 'b.txt', { create: true }, { read: true, write: true });
    assert.equal(file.write(enc.encode('hello'), 2n), 5n);
    assert.deepEqual(file.read(100n, 0n), [new Uint8Array([0, 0, ...enc.encode('hello')]), true]);
    assert.deepEqual(file.read(2n, 2n), [enc.encode('he'), false]);
    assert.equal(file.stat().size, 7n);
    const stream = root.readDirectory();
    const names: string[] = [];
    for (let entry = stream.readDirectoryEntry(); entry; entry = stream.readDirectoryEntry()) names.push(`${entry.name}:${entry.type}`);
    assert.deepEqual(names.sort(), ['a.txt:regular-file', 'b.txt:regular-file', 'd:directory', 'to-a:symbolic-link']);
  });

  it('sets times (a timestamp, now, no change), through a path and a descriptor', () => {
    const root = hostWith(TREE).directories[0]![0];
    const timestamp = { tag: 'timestamp', val: { seconds: 1_700_000_000n, nanoseconds: 5 } };
    root.setTimesAt({ symlinkFollow: true }, 'to-a', timestamp, { tag: 'no-change' });
    const stat = root.statAt({ symlinkFollow: false }, 'a.txt');
    assert.deepEqual(stat.dataAccessTimestamp, timestamp.val);
    assert.deepEqual(stat.dataModificationTimestamp, { seconds: 0n, nanoseconds: 0 }, 'mtime 0 from the archive, unchanged');
    assert.equal(root.statAt({}, 'to-a').type, 'symbolic-link');
    const file = root.openAt({}, 'a.txt', {}, { read: true });
    file.setTimes({ tag: 'no-change' }, { tag: 'now' });
    assert.ok(file.stat().dataModificationTimestamp.seconds > 1_700_000_000n);
  });

  it('links, compares objects and hashes metadata by node', () => {
    const root = hostWith(TREE).directories[0]![0];
    assert.equal(thrown(() => root.linkAt({ symlinkFollow: true }, 'a.txt', root, 'b')), 'invalid');
    root.linkAt({}, 'a.txt', root, 'hard');
    const [a, hard] = [root.openAt({}, 'a.txt', {}, { read: true }), root.openAt({}, 'hard', {}, { read: true })];
    assert.equal(a.isSameObject(hard), true);
    assert.equal(a.isSameObject(root), false);
    assert.equal(a.stat().linkCount, 2n);
    assert.deepEqual(root.metadataHashAt({}, 'hard'), a.metadataHash());
  });

  it('answers failures as wasi error codes, never leaving the tree', () => {
    const root = hostWith(TREE).directories[0]![0];
    assert.equal(thrown(() => root.openAt({}, '../x', {}, { read: true })), 'not-permitted');
    assert.equal(thrown(() => root.openAt({}, '/a.txt', {}, { read: true })), 'not-permitted');
    assert.equal(thrown(() => root.statAt({}, 'missing')), 'no-entry');
    assert.equal(thrown(() => root.openAt({}, 'd', {}, { read: true, write: true })), 'is-directory');
    assert.equal(thrown(() => root.symlinkAt('/etc/passwd', 'out')), 'not-permitted');
    const readOnly = root.openAt({}, 'a.txt', {}, { read: true });
    assert.equal(readOnly.getFlags().write, false);
    assert.equal(thrown(() => readOnly.write(enc.encode('x'), 0n)), 'bad-descriptor');
    assert.equal(thrown(() => readOnly.openAt({}, 'x', {}, {})), 'not-directory');
  });

  it('fails a stream write past the memory limit with insufficient-space, which filesystem-error-code names', () => {
    const { directories, types } = hostWith(TREE, 4 * MiB, 3 * MiB);
    const file = directories[0]![0].openAt({}, 'big', { create: true }, { write: true });
    const stream = file.writeViaStream(0n);
    stream.write(new Uint8Array(MiB / 2));
    const failure = thrown(() => stream.write(new Uint8Array(MiB))) as { tag: string; val: unknown };
    assert.equal(failure.tag, 'last-operation-failed');
    assert.equal(types.filesystemErrorCode(failure.val), 'insufficient-space');
    assert.equal(file.stat().size, BigInt(MiB / 2), 'the failed write left the file as it was');
  });
});
