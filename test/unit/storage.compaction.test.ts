/**
 * The local store's catalog journal is compacted as it grows (a hot job's pointer reached 2,633
 * lines in 60 s before), and what a compaction writes out is the whole catalog: the store opened
 * again lists, reads and runs the same.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

import { LocalJobStore } from '../../src/agent/storage';

const JOURNAL = 'catalog-v1.jsonl';
const lineCount = async (dir: string): Promise<number> => (await fs.readFile(path.join(dir, JOURNAL), 'utf8')).split('\n').filter(Boolean).length;
const text = (version: string): Uint8Array => Buffer.from(`name = "hot"\nversion = "${version}"\n`);

describe('local store: catalog compaction', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'serval-compaction-'));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it('keeps the journal near the size of the catalog while one job is stored again and again, and reopens the same', async () => {
    const store = await LocalJobStore.open(dir, () => undefined);
    const wasm = Buffer.from('\0asm\x01\0\0\0');
    await store.putManifest('t.cold', '1', Buffer.from('name = "cold"\nversion = "1"\n'));
    await store.putExecutable('t.cold', '1', wasm);
    // Versions 1 and 2 stored in turn: each write appends a line, and the catalog stays at 4 entries.
    for (let round = 0; round < 1_200; round++) await store.putManifest('t.hot', round % 2 ? '2' : '1', text(round % 2 ? '2' : '1'));
    await store.putExecutable('t.hot', '1', wasm);
    const lines = await lineCount(dir);
    assert.ok(lines < 1_100, `the journal holds ${lines} lines for 6 catalog entries after 1,200 writes`);
    await store.close();

    const reopened = await LocalJobStore.open(dir, () => undefined);
    try {
      assert.deepEqual(await reopened.names(), ['t.cold', 't.hot']);
      assert.equal(await reopened.defaultVersion('t.hot'), '1');
      assert.equal((await reopened.readManifest('t.hot', '2'))?.text.toString(), text('2').toString());
      assert.deepEqual((await reopened.readExecutable('t.cold', (await reopened.executable('t.cold', '1'))!)).subarray(0, 4), wasm.subarray(0, 4));
      assert.deepEqual((await reopened.status()).damaged, []);
    } finally {
      await reopened.close();
    }
  });
});
