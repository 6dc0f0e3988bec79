import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

import * as cacache from 'cacache';

import { IntegrityError, Storage, executableKey, sriOf } from '../../src/agent/storage';
import type { AgentLog } from '../../src/agent/types';
import type { LogRecord } from '../helpers/agent';
import { buildWat } from '../helpers/wat';

const NAME = 'test.serval.hello';

function recordingLog(): { log: AgentLog; records: LogRecord[] } {
  const records: LogRecord[] = [];
  return { log: (level, message, fields) => records.push({ level, message, fields }), records };
}

/** Overwrites the first byte of the content file behind `integrity`, as a disk fault would. */
async function corrupt(dir: string, integrity: string, key: string): Promise<void> {
  const info = await cacache.get.info(dir, key);
  assert.ok(info, `no index entry for ${key}`);
  assert.equal(info.integrity, integrity);
  const file = await fs.open(info.path, 'r+');
  try {
    const first = Buffer.alloc(1);
    await file.read(first, 0, 1, 0);
    await file.write(Buffer.from([first[0] ^ 0xff]), 0, 1, 0);
  } finally {
    await file.close();
  }
}

describe('Storage (cacache)', () => {
  let dir: string;
  let storage: Storage;
  let wasm: Uint8Array;

  before(async () => {
    wasm = await buildWat('hello');
  });

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'serval-storage-test-'));
    storage = await Storage.open(dir, recordingLog().log);
  });

  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('keeps the manifest text of each version byte for byte, and which version was stored last', async () => {
    const v1 = Buffer.from('name = "hello"  # odd   spacing kept\r\nversion = "1"\n');
    const v2 = Buffer.from('version = "2"\n');
    assert.equal(await storage.putManifest(NAME, '1', v1), sriOf(v1));
    await storage.putManifest(NAME, '2', v2);

    assert.equal(storage.latestVersion(NAME), '2');
    assert.deepEqual((await storage.readManifest(NAME))?.text, v2);
    assert.deepEqual((await storage.readManifest(NAME, '1'))?.text, v1);
    assert.equal(await storage.readManifest(NAME, '3'), undefined);
    assert.equal(await storage.readManifest('test.serval.other'), undefined);

    // Storing an older version again makes it the one stored last.
    await storage.putManifest(NAME, '1', v1);
    assert.equal(storage.latestVersion(NAME), '1');
  });

  it('lists fully-qualified names sorted, and executables newest first with integrity and size', async () => {
    for (const name of ['test.serval.zeta', 'test.serval.alpha', 'sh.serval.mid']) {
      await storage.putManifest(name, '1', Buffer.from(`# ${name}`));
    }
    assert.deepEqual(storage.names(), ['sh.serval.mid', 'test.serval.alpha', 'test.serval.zeta']);

    await storage.putManifest(NAME, '1', Buffer.from('# m'));
    // Stored within the same millisecond, still listed in the order they were stored.
    const first = await storage.putExecutable(NAME, '1', wasm);
    const other = Buffer.concat([Buffer.from(wasm), Buffer.from([0])]);
    const second = await storage.putExecutable(NAME, '2', other);

    assert.equal(first?.integrity, sriOf(wasm));
    assert.equal(first?.size, wasm.byteLength);
    assert.deepEqual(
      storage.executables(NAME)?.map((e) => [e.version, e.integrity, e.size]),
      [
        ['2', second?.integrity, other.byteLength],
        ['1', sriOf(wasm), wasm.byteLength],
      ],
    );
    assert.equal(storage.executables('test.serval.none'), undefined);
  });

  it('refuses an executable for a name that has no manifest', async () => {
    assert.equal(await storage.putExecutable(NAME, '1', wasm), undefined);
    assert.deepEqual(storage.names(), []);
  });

  it('finds everything again after a reopen, with the same stored_at', async () => {
    const text = Buffer.from('version = "1"\n');
    await storage.putManifest(NAME, '1', text);
    await storage.putManifest(NAME, '0.9', Buffer.from('older'));
    await storage.putManifest(NAME, '1', text);
    await storage.putExecutable(NAME, '1', wasm);
    const before = storage.executables(NAME);

    const reopened = await Storage.open(dir, recordingLog().log);
    assert.deepEqual(reopened.names(), [NAME]);
    assert.equal(reopened.latestVersion(NAME), '1');
    assert.deepEqual(reopened.executables(NAME), before);
    assert.deepEqual((await reopened.readManifest(NAME))?.text, text);
    const info = reopened.executable(NAME, '1');
    assert.ok(info);
    assert.deepEqual(await reopened.readExecutable(info, NAME), Buffer.from(wasm));
    await reopened.verifyExecutable(info, NAME);
  });

  it('keeps versions whose names only a dot would tell apart in separate keys', async () => {
    // With '.' as the separator, both would be stored under 'a.b.c.1.wasm'.
    await storage.putManifest('a.b', 'c.1', Buffer.from('# a.b'));
    await storage.putManifest('a.b.c', '1', Buffer.from('# a.b.c'));
    await storage.putExecutable('a.b', 'c.1', wasm);
    assert.notEqual(executableKey('a.b', 'c.1'), executableKey('a.b.c', '1'));
    assert.equal(storage.executable('a.b.c', '1'), undefined);
    assert.ok(storage.executable('a.b', 'c.1'));
  });

  it('refuses an executable whose bytes were corrupted on disk, on read and on verify', async () => {
    await storage.putManifest(NAME, '1', Buffer.from('# m'));
    const info = await storage.putExecutable(NAME, '1', wasm);
    assert.ok(info);
    await corrupt(dir, info.integrity, executableKey(NAME, '1'));

    await assert.rejects(storage.readExecutable(info, NAME), IntegrityError);
    await assert.rejects(storage.verifyExecutable(info, NAME), (error: Error) => {
      assert.ok(error instanceof IntegrityError);
      assert.match(error.message, /integrity check/);
      return true;
    });
  });

  it('skips, and logs, a manifest whose content was corrupted on disk when it opens', async () => {
    const text = Buffer.from('# the good one');
    await storage.putManifest(NAME, '1', text);
    const damagedText = Buffer.from('# to be damaged');
    const damaged = await storage.putManifest('test.serval.damaged', '1', damagedText);
    await corrupt(dir, damaged, 'test.serval.damaged@1.manifest.toml');

    await assert.rejects(storage.readManifest('test.serval.damaged'), IntegrityError);
    const { log, records } = recordingLog();
    const reopened = await Storage.open(dir, log);
    assert.deepEqual(reopened.names(), [NAME]);
    assert.deepEqual((await reopened.readManifest(NAME))?.text, text);
    assert.ok(records.some((r) => r.level === 'warn' && r.fields?.key === 'test.serval.damaged@1.manifest.toml'));
  });

  it('skips an executable whose content file is missing when it opens', async () => {
    await storage.putManifest(NAME, '1', Buffer.from('# m'));
    const info = await storage.putExecutable(NAME, '1', wasm);
    assert.ok(info);
    const entry = await cacache.get.info(dir, executableKey(NAME, '1'));
    await fs.rm(entry?.path ?? '');

    const reopened = await Storage.open(dir, recordingLog().log);
    assert.deepEqual(reopened.executables(NAME), []);
  });

  it('deletes one executable, and a whole job with all its versions', async () => {
    await storage.putManifest(NAME, '1', Buffer.from('# m1'));
    await storage.putManifest(NAME, '2', Buffer.from('# m2'));
    await storage.putExecutable(NAME, '1', wasm);
    await storage.putExecutable(NAME, '2', Buffer.concat([Buffer.from(wasm), Buffer.from([1])]));

    assert.equal(await storage.deleteExecutable(NAME, '1'), true);
    assert.equal(await storage.deleteExecutable(NAME, '1'), false);
    assert.deepEqual(storage.executables(NAME)?.map((e) => e.version), ['2']);

    assert.equal(await storage.deleteJob(NAME), true);
    assert.equal(await storage.deleteJob(NAME), false);
    assert.deepEqual(storage.names(), []);

    const reopened = await Storage.open(dir, recordingLog().log);
    assert.deepEqual(reopened.names(), []);
    // Nothing of it is left on disk either: no index entry points anywhere, no content remains.
    assert.deepEqual(Object.keys(await cacache.ls(dir)), []);
    assert.equal(await cacache.get.hasContent(dir, sriOf(wasm)), false);
  });

  it('keeps content that another job shares when one of them is deleted', async () => {
    for (const name of [NAME, 'test.serval.twin']) {
      await storage.putManifest(name, '1', Buffer.from(`# ${name}`));
      await storage.putExecutable(name, '1', wasm);
    }
    await storage.deleteJob(NAME);
    const twin = storage.executable('test.serval.twin', '1');
    assert.ok(twin);
    assert.deepEqual(await storage.readExecutable(twin, 'test.serval.twin'), Buffer.from(wasm));
  });

  it('clears files that interrupted writes left in its tmp folder, and keeps the rest', async () => {
    await storage.putManifest(NAME, '1', Buffer.from('# m'));
    await fs.mkdir(path.join(dir, 'tmp'), { recursive: true });
    await fs.writeFile(path.join(dir, 'tmp', 'half-written'), 'partial');

    const { log, records } = recordingLog();
    const reopened = await Storage.open(dir, log);
    await assert.rejects(fs.stat(path.join(dir, 'tmp', 'half-written')), { code: 'ENOENT' });
    assert.deepEqual(reopened.names(), [NAME]);
    assert.ok(records.some((r) => r.message.includes('interrupted writes')));
  });
});
