/**
 * The S3 backend on a real Ceph RGW, store by store (the agent's HTTP routes on top are tested in
 * agent.s3cluster.test.ts): several stores on one bucket prefix stand for several agents.
 */
import * as assert from 'node:assert/strict';

import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import { ContentGoneError, IntegrityError, StorageError } from '../../src/agent/storage/contract';
import { sha256Sri } from '../../src/agent/storage/s3/blobs';
import { makeS3Client, s3Settings } from '../../src/agent/storage/s3/config';
import { REFRESH_MS, openS3Store, type S3Store } from '../../src/agent/storage/s3/s3Store';
import type { LogRecord } from '../helpers/agent';
import { CuttableLink, describeWithS3, envFor, eventually, freshS3Url, type S3TestStore } from '../helpers/s3';

const NAME = 'test.serval.hello';
/** The smallest valid WebAssembly module; the store does not run what it keeps. */
const WASM = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
/** The documented bound (docs/scaling.md) within which every agent sees another agent's change. */
const BOUND_MS = 1_000;

describeWithS3('S3 storage on a real Ceph RGW', (getStore) => {
  let store: S3TestStore;
  let url: string;
  let raw: S3Client;
  const opened: S3Store[] = [];
  const logs: LogRecord[] = [];

  const open = async (env: NodeJS.ProcessEnv = store.env, endpoint?: string): Promise<S3Store> => {
    const opened_ = await openS3Store(url, (level, message, fields) => logs.push({ level, message, fields }), { env, endpoint });
    opened.push(opened_);
    return opened_;
  };
  const manifest = (version: string): Buffer => Buffer.from(`name = "hello"\nnamespace = "test.serval"\nversion = "${version}"\n`);
  const blobKey = (integrity: string): string => {
    const prefix = url.slice(`s3://${store.bucket}/`.length);
    return `${prefix}/blobs/sha256/${Buffer.from(integrity.slice('sha256-'.length), 'base64').toString('hex')}`;
  };

  before(() => {
    store = getStore();
    raw = makeS3Client(s3Settings(`s3://${store.bucket}`, store.env));
  });
  beforeEach(() => {
    url = freshS3Url(store, 'store');
    logs.length = 0;
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });
  after(() => raw?.destroy());

  it('a publish split over two agents (manifest through one, executable through the other) is complete on both at once', async () => {
    const [a, b] = [await open(), await open()];
    await a.putManifest(NAME, '1.0.0', manifest('1.0.0'));
    // b never refreshed since: its miss consults the bucket instead of answering "no such job".
    const stored = await b.putExecutable(NAME, '1.0.0', WASM);
    assert.equal(stored?.integrity, sha256Sri(WASM));
    assert.deepEqual(await a.versions(NAME), [stored]);
    assert.equal(await a.defaultVersion(NAME), '1.0.0');
    assert.deepEqual((await a.readExecutable(NAME, stored)).equals(WASM), true);
  });

  it('the default version moves only once a version has both its manifest and its executable, on every agent', async () => {
    const [a, b] = [await open(), await open()];
    await a.putManifest(NAME, '1', manifest('1'));
    await a.putExecutable(NAME, '1', WASM);
    await a.putManifest(NAME, '2', manifest('2'));
    assert.equal(await b.defaultVersion(NAME), '1', 'a half-published version 2 must not become the default');
    assert.equal((await b.readManifest(NAME))?.version, '1');
    await b.putExecutable(NAME, '2', Buffer.concat([WASM, Buffer.from([0x00, 0x00])]));
    assert.equal(await b.defaultVersion(NAME), '2', 'the agent that completed it runs it at once');
    await eventually(async () => (await a.defaultVersion(NAME)) === '2', BOUND_MS, 'the other agent runs version 2 by default');
  });

  it(`a delete through one agent is gone on another within ${BOUND_MS} ms, and listings agree at once`, async () => {
    const [a, b] = [await open(), await open()];
    await a.putManifest(NAME, '1', manifest('1'));
    await a.putExecutable(NAME, '1', WASM);
    assert.equal(await b.defaultVersion(NAME), '1');
    assert.equal(await a.deleteJob(NAME), true);
    assert.deepEqual(await b.names(), [], 'a listing consults the index');
    const took = await eventually(async () => (await b.executable(NAME, '1')) === undefined, BOUND_MS, 'the delete reached b');
    assert.ok(took <= BOUND_MS);
  });

  it('agents racing on one catalogue lose no write (the index is created generation by generation)', async () => {
    const agents = [await open(), await open(), await open(), await open()];
    await agents[0].putManifest(NAME, '0', manifest('0'));
    const versions = Array.from({ length: 16 }, (_, i) => String(i + 1));
    await Promise.all(
      versions.map(async (version, i) => {
        const agent = agents[i % agents.length];
        await agent.putManifest(NAME, version, manifest(version));
        await agent.putExecutable(NAME, version, Buffer.concat([WASM, Buffer.from([0, i])]));
      }),
    );
    const listings = await Promise.all(agents.map(async (agent) => (await agent.versions(NAME))?.map((v) => v.version).sort()));
    for (const listing of listings) assert.deepEqual(listing, [...versions].sort());
  });

  it('keeps the index small: old generations are removed as new ones are written', async () => {
    const a = await open();
    await a.putManifest(NAME, '1', manifest('1'));
    for (let i = 0; i < 20; i++) await a.putExecutable(NAME, '1', Buffer.concat([WASM, Buffer.from([0, i])]));
    const prefix = `${url.slice(`s3://${store.bucket}/`.length)}/catalog/`;
    await eventually(
      async () => ((await raw.send(new ListObjectsV2Command({ Bucket: store.bucket, Prefix: prefix }))).KeyCount ?? 0) <= 10,
      5_000,
      'old index generations were removed',
    );
  });

  it('refuses bytes damaged in the bucket (never returns them), reports them, and storing them again repairs the bucket', async () => {
    const a = await open();
    await a.putManifest(NAME, '1', manifest('1'));
    const info = await a.putExecutable(NAME, '1', WASM);
    assert.ok(info);
    const evil = Buffer.from(WASM);
    evil[7] = 0x01;
    await raw.send(new PutObjectCommand({ Bucket: store.bucket, Key: blobKey(info.integrity), Body: evil }));

    const b = await open();
    await assert.rejects(b.readExecutable(NAME, info), IntegrityError);
    const status = await b.status();
    assert.equal(status.damaged.length, 1);
    assert.equal(status.damaged[0].integrity, info.integrity);
    assert.ok(logs.some((r) => r.level === 'error' && /failed its integrity check/.test(r.message)));

    await a.putExecutable(NAME, '1', WASM);
    assert.ok((await b.readExecutable(NAME, info)).equals(WASM));
    assert.deepEqual((await b.status()).damaged, []);
  });

  it('a blob missing from the bucket is damage (IntegrityError); one deleted through another agent is gone (ContentGoneError)', async () => {
    const [a, b] = [await open(), await open()];
    await a.putManifest(NAME, '1', manifest('1'));
    const info = await a.putExecutable(NAME, '1', WASM);
    assert.ok(info);
    await raw.send(new DeleteObjectCommand({ Bucket: store.bucket, Key: blobKey(info.integrity) }));
    await assert.rejects(b.readExecutable(NAME, info), IntegrityError);
    await a.putExecutable(NAME, '1', WASM);
    const seen = await b.executable(NAME, '1');
    assert.ok(seen);
    await a.deleteExecutable(NAME, '1');
    await assert.rejects(b.readExecutable(NAME, seen), ContentGoneError);
  });

  it('refuses to open with credentials the store rejects: 403 naming the variables to check', async () => {
    const env = envFor(store.endpoint, 'no-such-key', 'wrong-secret');
    await assert.rejects(open(env), (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.equal(error.status, 403);
      assert.match(error.message, /refused the agent's credentials.*AWS_ACCESS_KEY_ID/);
      return true;
    });
  });

  it('refuses to open when nothing answers at the endpoint: 503 "object store unreachable at …"', async () => {
    const link = await CuttableLink.to(store.endpoint);
    await link.cut();
    await assert.rejects(open(store.env, link.endpoint), (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.equal(error.status, 503);
      assert.match(error.message, new RegExp(`object store unreachable at .*${link.endpoint.replace(/[.]/g, '\\.')}`));
      return true;
    });
  });

  it('while the store is down: serves what it caches (verified), answers 503 for the rest, and recovers when it is back', async () => {
    const link = await CuttableLink.to(store.endpoint);
    try {
      const a = await open(store.env, link.endpoint);
      await a.putManifest(NAME, '1', manifest('1'));
      const hot = await a.putExecutable(NAME, '1', WASM);
      const cold = await a.putExecutable(NAME, '2', Buffer.concat([WASM, Buffer.from([0, 2])]));
      assert.ok(hot && cold);
      await a.readExecutable(NAME, hot); // now in this agent's cache

      await link.cut();
      assert.ok((await a.readExecutable(NAME, hot)).equals(WASM), 'a cached executable still runs');
      assert.deepEqual(await a.names(), [NAME], 'listings answer from what the agent knows');
      const unreachable = (error: unknown): boolean => error instanceof StorageError && error.status === 503 && /object store unreachable at/.test(error.message);
      await assert.rejects(a.readExecutable(NAME, cold), unreachable);
      await assert.rejects(a.putManifest(NAME, '3', manifest('3')), unreachable);
      assert.equal((await a.status()).reachable, false);

      await link.restore();
      await a.putManifest(NAME, '3', manifest('3'));
      assert.ok((await a.readExecutable(NAME, cold)).length > 0);
      await eventually(async () => (await a.status()).reachable === true, 2_000, 'the status says reachable again');
    } finally {
      await link.cut();
    }
  });

  it(`follows other agents' changes in the background (every ${REFRESH_MS} ms)`, async () => {
    const [a, b] = [await open(), await open()];
    await a.putManifest(NAME, '1', manifest('1'));
    await a.putExecutable(NAME, '1', WASM);
    await b.executable(NAME, '1');
    await a.putManifest(NAME, '2', manifest('2'));
    await a.putExecutable(NAME, '2', Buffer.concat([WASM, Buffer.from([0, 2])]));
    await eventually(async () => (await b.defaultVersion(NAME)) === '2', BOUND_MS, 'b runs version 2 by default');
  });
});
