/**
 * The storage contract's test suite: the same assertions against every backend. A backend's test
 * file calls `describeJobStore('local (cacache folder)', makeHarness)`; the harness opens the one
 * store under test (again, after close(), to check what survives a restart) and damages a blob the
 * way its medium can be damaged (a flipped byte on disk, an object overwritten in the bucket).
 */
import * as assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';

import {
  ContentGoneError,
  IntegrityError,
  IntegrityMismatchError,
  sriOf,
  type JobStore,
} from '../../../src/agent/storage';
import { buildWat } from '../../helpers/wat';

export interface StoreHarness {
  /** Opens the store under test; after close(), opens the same store again (a restart). */
  open(): Promise<JobStore>;
  /** Damages the stored bytes behind `integrity` (one byte changed, same size). */
  damage(integrity: string): Promise<void>;
  /** Files of uploads the store holds outside its catalog right now (its staging folder): none between puts. */
  leftovers(): Promise<string[]>;
  /** Removes everything the harness made. */
  cleanup(): Promise<void>;
}

const NAME = 'test.serval.hello';

async function* chunksOf(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.byteLength; offset += size) {
    await new Promise((resolve) => setImmediate(resolve));
    yield bytes.subarray(offset, offset + size);
  }
}

export function describeJobStore(backend: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`storage contract: ${backend}`, function () {
    this.timeout(60_000);
    let harness: StoreHarness;
    let store: JobStore;
    let wasm: Uint8Array;
    let other: Uint8Array;

    before(async () => {
      wasm = await buildWat('hello');
      other = await buildWat('uppercase');
    });

    beforeEach(async () => {
      harness = await makeHarness();
      store = await harness.open();
    });

    afterEach(async () => {
      await store.close().catch(() => undefined);
      await harness.cleanup();
    });

    async function restart(): Promise<JobStore> {
      await store.close();
      store = await harness.open();
      return store;
    }

    async function publish(name: string, version: string, bytes: Uint8Array): Promise<void> {
      await store.putManifest(name, version, Buffer.from(`# ${name} ${version}\n`));
      assert.ok(await store.putExecutable(name, version, bytes));
    }

    it('keeps each version\'s manifest text byte for byte; without ?version the default version\'s', async () => {
      const v1 = Buffer.from('name = "hello"  # odd   spacing kept\r\nversion = "1"\n');
      const v2 = Buffer.from('version = "2"\n');
      assert.equal(await store.putManifest(NAME, '1', v1), sriOf(v1));
      await store.putManifest(NAME, '2', v2);
      // No version is complete: the default is the manifest stored last.
      assert.equal(await store.defaultVersion(NAME), '2');
      assert.deepEqual((await store.readManifest(NAME))?.text, v2);
      assert.deepEqual((await store.readManifest(NAME, '1'))?.text, v1);
      assert.deepEqual(await store.manifestInfo(NAME, '1'), { version: '1', integrity: sriOf(v1), size: v1.byteLength });
      assert.equal(await store.readManifest(NAME, '3'), undefined);
      assert.equal(await store.readManifest('test.serval.other'), undefined);
      assert.equal(await store.defaultVersion('test.serval.other'), undefined);
    });

    it('lists names sorted, and executables newest first with integrity, size and stored_at', async () => {
      for (const name of ['test.serval.zeta', 'test.serval.alpha', 'sh.serval.mid']) {
        await store.putManifest(name, '1', Buffer.from(`# ${name}`));
      }
      assert.deepEqual(await store.names(), ['sh.serval.mid', 'test.serval.alpha', 'test.serval.zeta']);
      assert.equal(await store.has('sh.serval.mid'), true);
      assert.equal(await store.has('sh.serval.none'), false);

      await store.putManifest(NAME, '1', Buffer.from('# m'));
      const first = await store.putExecutable(NAME, '1', wasm);
      const second = await store.putExecutable(NAME, '2', other);
      assert.equal(first?.integrity, sriOf(wasm));
      assert.equal(first?.size, wasm.byteLength);
      assert.ok(first && !Number.isNaN(Date.parse(first.stored_at)));
      assert.deepEqual(
        (await store.versions(NAME))?.map((e) => [e.version, e.integrity, e.size]),
        [
          ['2', second?.integrity, other.byteLength],
          ['1', sriOf(wasm), wasm.byteLength],
        ],
      );
      assert.deepEqual(await store.executable(NAME, '1'), first);
      assert.equal(await store.executable(NAME, '3'), undefined);
      assert.equal(await store.versions('test.serval.none'), undefined);
    });

    it('refuses an executable or files archive for a name that has no manifest, storing nothing', async () => {
      assert.equal(await store.putExecutable(NAME, '1', wasm), undefined);
      assert.equal(await store.putFiles(NAME, '1', Buffer.from('tar')), undefined);
      assert.deepEqual(await store.names(), []);
      assert.equal(await store.versions(NAME), undefined);
    });

    it('atomic publish: the default version moves only once a version has both its manifest and its executable', async () => {
      await publish(NAME, '1', wasm);
      assert.equal(await store.defaultVersion(NAME), '1');

      await store.putManifest(NAME, '2', Buffer.from('# 2'));
      assert.equal(await store.defaultVersion(NAME), '1', 'a manifest without its executable does not move the default');
      assert.deepEqual((await store.readManifest(NAME))?.text, Buffer.from(`# ${NAME} 1\n`), 'nor the manifest read without a version');
      await store.putExecutable(NAME, '2', other);
      assert.equal(await store.defaultVersion(NAME), '2');

      await store.putExecutable(NAME, '3', wasm);
      assert.equal(await store.defaultVersion(NAME), '2', 'an executable without its manifest does not move the default');
      await store.putManifest(NAME, '3', Buffer.from('# 3'));
      assert.equal(await store.defaultVersion(NAME), '3');

      assert.equal(await store.deleteExecutable(NAME, '3'), true);
      assert.equal(await store.defaultVersion(NAME), '2', 'deleting the default executable falls back to the last complete version');

      // Storing an older version's manifest again makes it the version completed last.
      await store.putManifest(NAME, '1', Buffer.from(`# ${NAME} 1\n`));
      assert.equal(await store.defaultVersion(NAME), '1');
      assert.equal((await restart()).constructor, store.constructor);
      assert.equal(await store.defaultVersion(NAME), '1', 'the same default after a restart');
    });

    it('stores an upload streamed in chunks, hashing it once, and refuses a wrong announced integrity', async () => {
      await store.putManifest(NAME, '1', Buffer.from('# m'));
      const stored = await store.putExecutable(NAME, '1', chunksOf(wasm, 7), { expectedIntegrity: sriOf(wasm) });
      assert.equal(stored?.integrity, sriOf(wasm));
      assert.deepEqual(await store.readExecutable(NAME, stored), Buffer.from(wasm));

      await assert.rejects(store.putExecutable(NAME, '2', other, { expectedIntegrity: sriOf(wasm) }), IntegrityMismatchError);
      assert.equal(await store.executable(NAME, '2'), undefined, 'nothing of a refused upload is listed');
    });

    it('stores nothing when beforeCommit refuses the upload, and the default stays', async () => {
      await publish(NAME, '1', wasm);
      await store.putManifest(NAME, '2', Buffer.from('# 2'));
      let seen: { integrity: string; size: number } | undefined;
      let staged: Buffer | undefined;
      const refusal = new Error('not a module');
      await assert.rejects(
        store.putExecutable(NAME, '2', chunksOf(other, 100), {
          beforeCommit: async ({ file, ...blob }) => {
            seen = blob;
            // Checks read the upload from the staged file: every byte is there.
            staged = await readFile(file);
            throw refusal;
          },
        }),
        (error) => error === refusal,
      );
      assert.deepEqual(seen, { integrity: sriOf(other), size: other.byteLength });
      assert.deepEqual(staged, Buffer.from(other));
      assert.equal(await store.executable(NAME, '2'), undefined);
      assert.equal(await store.defaultVersion(NAME), '1');
      assert.deepEqual(await harness.leftovers(), [], 'nothing of the refused upload is kept');
      await restart();
      assert.equal(await store.executable(NAME, '2'), undefined, 'nor after a restart');
    });

    it('stores a large upload streamed in socket-sized chunks byte for byte, checked before it is listed', async () => {
      await publish(NAME, '1', wasm);
      await store.putManifest(NAME, '2', Buffer.from('# 2'));
      // Past the store's batches and its flushes ahead (durable.ts): a debug build's size class.
      const big = Buffer.concat([Buffer.from(other), Buffer.alloc(12 * 1024 * 1024 + 12_345, 0x5a)]);
      let listedDuringCheck: unknown = 'not checked';
      const stored = await store.putExecutable(NAME, '2', chunksOf(big, 64 * 1024), {
        expectedIntegrity: sriOf(big),
        beforeCommit: async () => {
          listedDuringCheck = await store.executable(NAME, '2');
        },
      });
      assert.equal(listedDuringCheck, undefined, 'a version is not listed before its checks passed');
      assert.deepEqual({ integrity: stored?.integrity, size: stored?.size }, { integrity: sriOf(big), size: big.byteLength });
      assert.ok(stored);
      assert.ok((await store.readExecutable(NAME, stored)).equals(big));
      assert.equal(await store.defaultVersion(NAME), '2');
      assert.deepEqual(await harness.leftovers(), []);
      await restart();
      const again = await store.executable(NAME, '2');
      assert.ok(again);
      assert.ok((await store.readExecutable(NAME, again)).equals(big));
    });

    it('an upload whose body fails midway (client gone) stores nothing and leaves nothing behind', async () => {
      await publish(NAME, '1', wasm);
      await store.putManifest(NAME, '2', Buffer.from('# 2'));
      const gone = new Error('the client went away');
      async function* cutOff(): AsyncGenerator<Uint8Array> {
        yield* chunksOf(Buffer.alloc(3 * 1024 * 1024, 1), 64 * 1024);
        throw gone;
      }
      let checked = false;
      await assert.rejects(
        store.putExecutable(NAME, '2', cutOff(), {
          beforeCommit: () => {
            checked = true;
          },
        }),
        (error) => error === gone,
      );
      assert.equal(checked, false, 'a body that never ended is not checked');
      assert.equal(await store.executable(NAME, '2'), undefined);
      assert.equal(await store.defaultVersion(NAME), '1');
      assert.deepEqual(await harness.leftovers(), []);
      await restart();
      assert.equal(await store.executable(NAME, '2'), undefined, 'nor after a restart');
    });

    it('finds everything again after a restart, with the same stored_at', async () => {
      const text = Buffer.from('version = "1"\n');
      await store.putManifest(NAME, '0.9', Buffer.from('older'));
      await store.putManifest(NAME, '1', text);
      await store.putExecutable(NAME, '1', wasm);
      await store.putFiles(NAME, '1', Buffer.from('tar bytes'));
      const before = await store.versions(NAME);

      await restart();
      assert.deepEqual(await store.names(), [NAME]);
      assert.equal(await store.defaultVersion(NAME), '1');
      assert.deepEqual(await store.versions(NAME), before);
      assert.deepEqual((await store.readManifest(NAME))?.text, text);
      const info = await store.executable(NAME, '1');
      assert.ok(info);
      assert.deepEqual(await store.readExecutable(NAME, info), Buffer.from(wasm));
      assert.deepEqual(await store.readFiles(NAME, '1'), Buffer.from('tar bytes'));
    });

    it('keeps versions whose names only a dot would tell apart apart', async () => {
      await store.putManifest('a.b', 'c.1', Buffer.from('# a.b'));
      await store.putManifest('a.b.c', '1', Buffer.from('# a.b.c'));
      await store.putExecutable('a.b', 'c.1', wasm);
      assert.equal(await store.executable('a.b.c', '1'), undefined);
      assert.ok(await store.executable('a.b', 'c.1'));
    });

    it('streams an executable checked in full first', async () => {
      await publish(NAME, '1', wasm);
      const info = await store.executable(NAME, '1');
      assert.ok(info);
      const chunks: Buffer[] = [];
      for await (const chunk of await store.streamExecutable(NAME, info)) chunks.push(Buffer.from(chunk as Uint8Array));
      assert.deepEqual(Buffer.concat(chunks), Buffer.from(wasm));
    });

    it('deletes one executable, and a whole job with all its versions, for good', async () => {
      await publish(NAME, '1', wasm);
      await publish(NAME, '2', other);
      await store.putFiles(NAME, '2', Buffer.from('tar'));
      assert.equal(await store.deleteExecutable(NAME, '1'), true);
      assert.equal(await store.deleteExecutable(NAME, '1'), false);
      assert.deepEqual((await store.versions(NAME))?.map((e) => e.version), ['2']);

      assert.equal(await store.deleteJob(NAME), true);
      assert.equal(await store.deleteJob(NAME), false);
      assert.deepEqual(await store.names(), []);
      assert.equal(await store.filesInfo(NAME, '2'), undefined);

      await restart();
      assert.deepEqual(await store.names(), []);
      assert.equal(await store.versions(NAME), undefined);
    });

    it('keeps content that another job shares when one of them is deleted', async () => {
      for (const name of [NAME, 'test.serval.twin']) await publish(name, '1', wasm);
      await store.deleteJob(NAME);
      const twin = await store.executable('test.serval.twin', '1');
      assert.ok(twin);
      assert.deepEqual(await store.readExecutable('test.serval.twin', twin), Buffer.from(wasm));
      await restart();
      const again = await store.executable('test.serval.twin', '1');
      assert.ok(again);
      assert.deepEqual(await store.readExecutable('test.serval.twin', again), Buffer.from(wasm));
    });

    it('tells bytes deleted since the lookup (ContentGoneError) from damaged ones', async () => {
      await publish(NAME, '1', wasm);
      const info = await store.executable(NAME, '1');
      assert.ok(info);
      assert.equal(await store.deleteExecutable(NAME, '1'), true);
      await assert.rejects(store.readExecutable(NAME, info), ContentGoneError);
    });

    it('files archive: stored with its version, listed with it, read back verified, deleted', async () => {
      await publish(NAME, '1', wasm);
      const tar = Buffer.alloc(3000, 7);
      const stored = await store.putFiles(NAME, '1', chunksOf(tar, 1000), { expectedIntegrity: sriOf(tar) });
      assert.deepEqual(stored, { integrity: sriOf(tar), size: tar.byteLength });
      assert.deepEqual(await store.filesInfo(NAME, '1'), stored);
      assert.deepEqual((await store.executable(NAME, '1'))?.files, stored);
      assert.deepEqual((await store.versions(NAME))?.[0]?.files, stored);
      assert.deepEqual(await store.readFiles(NAME, '1'), tar);
      assert.equal(await store.readFiles(NAME, '2'), undefined);

      assert.equal(await store.deleteFiles(NAME, '1'), true);
      assert.equal(await store.deleteFiles(NAME, '1'), false);
      assert.equal((await store.executable(NAME, '1'))?.files, undefined);
      assert.ok(await store.executable(NAME, '1'), 'the executable stays');
    });

    it('never serves a damaged executable, reports it, and serves it again once stored again', async () => {
      await publish(NAME, '1', wasm);
      const info = await store.executable(NAME, '1');
      assert.ok(info);
      await harness.damage(info.integrity);
      await assert.rejects(store.readExecutable(NAME, info), IntegrityError);
      await assert.rejects(store.streamExecutable(NAME, info), IntegrityError);

      const report = (await store.status()).damaged;
      assert.ok(
        report.some((d) => d.name === NAME && d.version === '1' && d.kind === 'executable'),
        `status names the damaged executable: ${JSON.stringify(report)}`,
      );
      assert.equal(await store.has(NAME), true, 'the job stays listed');
      assert.deepEqual(await store.versions(NAME), [], 'its damaged version is not offered');
      assert.ok(await store.executable(NAME, '1'), 'but a lookup finds it, so a run is told why it cannot run');
      await restart();
      const still = await store.executable(NAME, '1');
      assert.ok(still, 'never deleted');
      await assert.rejects(store.readExecutable(NAME, still), IntegrityError);
      // Stored again (same bytes): whole again, out of the damage report.
      await store.putExecutable(NAME, '1', wasm);
      const healed = await store.executable(NAME, '1');
      assert.ok(healed);
      assert.deepEqual(await store.readExecutable(NAME, healed), Buffer.from(wasm));
      assert.deepEqual((await store.status()).damaged, []);
    });

    it('a damaged manifest never costs the job its executables: storing it again brings the job back whole', async () => {
      const text = Buffer.from(`# ${NAME} 1\n`);
      await publish(NAME, '1', wasm);
      await publish('test.serval.good', '1', other);
      await harness.damage(sriOf(text));

      await restart();
      assert.deepEqual(await store.names(), ['test.serval.good'], 'the job with a damaged manifest is out of service');
      const status = await store.status();
      assert.ok(status.damaged.some((d) => d.name === NAME && d.kind === 'manifest'), JSON.stringify(status.damaged));
      await restart();
      assert.deepEqual(await store.names(), ['test.serval.good'], 'and nothing was deleted on the way');

      await store.putManifest(NAME, '1', text);
      assert.deepEqual(await store.names(), ['test.serval.good', NAME]);
      const info = await store.executable(NAME, '1');
      assert.ok(info, 'its executable is still there');
      assert.deepEqual(await store.readExecutable(NAME, info), Buffer.from(wasm));
      assert.equal(await store.defaultVersion(NAME), '1');
    });
  });
}
