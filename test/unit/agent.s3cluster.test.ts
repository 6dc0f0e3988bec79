/**
 * Three agents (their own processes) on one S3 store on a real Ceph RGW, with haproxy in front:
 * what a user of the balancer sees. Faults: a blob damaged in the bucket, an agent killed, an agent
 * SIGKILLed during a publish, the object store cut off from an agent mid-run.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';

import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import { makeS3Client, parseS3Url, s3Settings } from '../../src/agent/storage/s3/config';
import { manifestText, request, storeJob } from '../helpers/agent';
import { haproxyAvailable, paddedWasm, startAgentProcess, startBalancer, waitForAgentsBehind, type AgentProcess, type Balancer } from '../helpers/cluster';
import { CuttableLink, describeWithS3, eventually, freshS3Url, type S3TestStore } from '../helpers/s3';
import { buildWat } from '../helpers/wat';

const JOB = 'test.serval.hello';
const run = (url: string, name = JOB, version?: string) =>
  request(url, 'POST', `/v1/jobs/${name}/run${version ? `?version=${version}` : ''}`, { body: 'abc' });
/** docs/scaling.md: a change through one agent reaches every other within this bound. */
const BOUND_MS = 1_000;

describeWithS3('three agents on one S3 store behind haproxy', (getStore) => {
  let store: S3TestStore;
  let storage: string;
  let agents: AgentProcess[] = [];
  let balancer: Balancer | undefined;
  let raw: S3Client;
  let hello: Uint8Array;
  let uppercase: Uint8Array;

  before(async function () {
    this.timeout(60_000);
    store = getStore();
    storage = freshS3Url(store, 'cluster');
    raw = makeS3Client(s3Settings(storage, store.env));
    [hello, uppercase] = await Promise.all([buildWat('hello'), buildWat('uppercase')]);
    agents = await Promise.all([1, 2, 3].map(() => startAgentProcess(storage, store.env)));
    if (haproxyAvailable()) {
      balancer = await startBalancer(agents.map((agent) => agent.url));
      await waitForAgentsBehind(balancer.url, 3);
    }
  });

  after(async () => {
    await balancer?.stop();
    await Promise.all(agents.map((agent) => agent.stop()));
    raw?.destroy();
  });

  const blobKey = (integrity: string): string =>
    `${parseS3Url(storage).prefix}blobs/sha256/${Buffer.from(integrity.slice('sha256-'.length), 'base64').toString('hex')}`;

  it('a job published through one agent runs through the others at once', async () => {
    await storeJob(agents[0], 'hello', '1.0.0', hello);
    for (const agent of agents.slice(1)) {
      const answer = await run(agent.url);
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.text, 'hello, world\n');
    }
  });

  it('a publish whose manifest and executable reach different agents is whole on all of them', async () => {
    const stored = await request(agents[1].url, 'POST', '/v1/storage/manifests', { body: manifestText('split', '1') });
    assert.equal(stored.status, 201, stored.text);
    const put = await request(agents[2].url, 'PUT', '/v1/storage/manifests/test.serval.split/executable/1', { body: uppercase });
    assert.equal(put.status, 201, put.text);
    for (const agent of agents) {
      const answer = await run(agent.url, 'test.serval.split');
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.text, 'ABC');
    }
  });

  it('every agent lists the same versions, at once', async () => {
    await storeJob(agents[2], 'listed', '1', hello);
    await storeJob(agents[0], 'listed', '2', uppercase);
    const listings = await Promise.all(
      agents.map(async (agent) => (await request(agent.url, 'GET', '/v1/storage/manifests/test.serval.listed/executables')).text),
    );
    assert.equal(JSON.parse(listings[0]).length, 2);
    assert.deepEqual(listings, [listings[0], listings[0], listings[0]]);
    const names = await Promise.all(agents.map(async (agent) => (await request(agent.url, 'GET', '/v1/storage/manifests')).text));
    assert.deepEqual(names, [names[0], names[0], names[0]]);
  });

  it(`a delete through one agent is gone from every agent within ${BOUND_MS} ms`, async () => {
    await storeJob(agents[0], 'doomed', '1', hello);
    for (const agent of agents) assert.equal((await run(agent.url, 'test.serval.doomed')).status, 200);
    const deleted = await request(agents[1].url, 'DELETE', '/v1/storage/manifests/test.serval.doomed');
    assert.equal(deleted.status, 204);
    await Promise.all(
      agents.map((agent) =>
        eventually(async () => (await run(agent.url, 'test.serval.doomed')).status === 404, BOUND_MS, `the delete reached ${agent.url}`),
      ),
    );
  });

  it('a run of the default version never 404s while a new version is being published through another agent', async () => {
    await storeJob(agents[0], 'steady', '1', hello);
    let publishing = true;
    const statuses: number[] = [];
    const runs = (async () => {
      for (let i = 0; publishing || i < 3; i++) statuses.push((await run(agents[i % 3].url, 'test.serval.steady')).status);
    })();
    for (let version = 2; version <= 4; version++) {
      await storeJob(agents[version % 3], 'steady', String(version), paddedWasm(hello, 200_000 * version));
    }
    publishing = false;
    await runs;
    assert.ok(statuses.length > 0);
    assert.deepEqual([...new Set(statuses)], [200]);
  });

  it('an executable damaged in the bucket is refused with 500 by every agent and never run', async () => {
    // Bytes no agent has run or cached yet (a verified copy in an agent's cache would rightly run).
    const fresh = paddedWasm(hello, 4321);
    const integrity = await storeJob(agents[0], 'tampered', '1', fresh);
    // Same size, one byte changed: other bytes under the same key.
    const evil = Buffer.from(fresh);
    evil[evil.length - 2] ^= 0x01;
    await raw.send(new PutObjectCommand({ Bucket: parseS3Url(storage).bucket, Key: blobKey(integrity), Body: evil }));
    for (const agent of agents) {
      const answer = await run(agent.url, 'test.serval.tampered');
      assert.equal(answer.status, 500, answer.text);
      assert.match(answer.text, /failed its integrity check and was not run/);
    }
    const status = JSON.parse((await request(agents[1].url, 'GET', '/monitor/status')).text) as {
      storage: { damaged: Array<{ name: string; kind: string }> };
    };
    assert.ok(status.storage.damaged.some((d) => d.name === 'test.serval.tampered' && d.kind === 'executable'));
    // Publishing the good bytes again repairs the bucket for everyone.
    await request(agents[2].url, 'PUT', '/v1/storage/manifests/test.serval.tampered/executable/1', { body: fresh });
    for (const agent of agents) assert.equal((await run(agent.url, 'test.serval.tampered')).status, 200);
  });

  it('an agent SIGKILLed in the middle of a publish leaves the previous version whole and the default on it', async function () {
    this.timeout(60_000);
    const victim = await startAgentProcess(storage, store.env);
    try {
      await storeJob(victim, 'interrupted', '1', hello);
      assert.equal((await request(victim.url, 'POST', '/v1/storage/manifests', { body: manifestText('interrupted', '2') })).status, 201);
      // Half of a 10 MB executable, then the agent dies.
      const big = paddedWasm(uppercase, 10 * 1024 * 1024);
      const upload = http.request(`${victim.url}/v1/storage/manifests/test.serval.interrupted/executable/2`, {
        method: 'PUT',
        headers: { 'content-length': big.length },
      });
      upload.on('error', () => undefined);
      // Once the first half is handed to the socket, the agent is mid-upload.
      await new Promise((resolve) => upload.write(big.subarray(0, big.length / 2), resolve));
      await victim.kill();
      upload.destroy();
    } finally {
      await victim.kill();
    }
    for (const agent of agents) {
      const answer = await run(agent.url, 'test.serval.interrupted');
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.text, 'hello, world\n', 'version 1 still runs by default');
      const versions = JSON.parse((await request(agent.url, 'GET', '/v1/storage/manifests/test.serval.interrupted/executables')).text);
      assert.deepEqual(versions.map((v: { version: string }) => v.version), ['1']);
    }
  });

  it('an agent cut off from the object store mid-run keeps running what it caches, answers 503 for the rest, and recovers', async function () {
    this.timeout(60_000);
    const link = await CuttableLink.to(store.endpoint);
    const cutOff = await startAgentProcess(storage, store.env, ['--s3-endpoint', link.endpoint]);
    try {
      await storeJob(agents[0], 'cached', '1', hello);
      await storeJob(agents[0], 'cached', '2', uppercase);
      assert.equal((await run(cutOff.url, 'test.serval.cached', '1')).status, 200);

      await link.cut();
      const hot = await run(cutOff.url, 'test.serval.cached', '1');
      assert.equal(hot.status, 200, `a cached executable still runs: ${hot.text}`);
      const cold = await run(cutOff.url, 'test.serval.cached', '2');
      assert.equal(cold.status, 503, cold.text);
      assert.match(cold.text, new RegExp(`object store unreachable at ${link.endpoint}`));
      const publish = await request(cutOff.url, 'POST', '/v1/storage/manifests', { body: manifestText('cached', '3') });
      assert.equal(publish.status, 503, publish.text);
      assert.equal((await request(cutOff.url, 'GET', '/monitor/ping')).status, 200, 'the agent stays up');

      await link.restore();
      await eventually(async () => (await run(cutOff.url, 'test.serval.cached', '2')).status === 200, 5_000, 'runs again once the store is back');
    } finally {
      await cutOff.stop();
      await link.cut();
    }
  });

  it('with one agent killed, every request through the balancer still succeeds', async function () {
    if (!balancer) this.skip();
    await storeJob(agents[0], 'survivor', '1', hello);
    await agents[2].kill();
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await run(balancer.url, 'test.serval.survivor')).status);
    assert.deepEqual([...new Set(statuses)], [200]);
    const listed = await request(balancer.url, 'GET', '/v1/storage/manifests');
    assert.equal(listed.status, 200);
    assert.ok((JSON.parse(listed.text) as string[]).includes('test.serval.survivor'));
  });
});
