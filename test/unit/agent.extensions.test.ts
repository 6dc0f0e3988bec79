/**
 * Extensions through the HTTP API: an agent started with an extensions folder lists them, links
 * one into a job that declares it (a fresh instance per run, writing through the job's WASI
 * host), and refuses undeclared or missing ones with 422.
 */
import * as assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

import { sriOf } from '../../src/agent/storage';
import { manifestText, request, startTestAgent, type TestAgent } from '../helpers/agent';
import { buildWat } from '../helpers/wat';

async function storeBirdJob(agent: TestAgent, name: string, extra: string): Promise<void> {
  const manifest = await request(agent.url, 'POST', '/v1/storage/manifests', { body: manifestText(name, '1.0.0', extra) });
  assert.equal(manifest.status, 201, manifest.text);
  const put = await request(agent.url, 'PUT', `/v1/storage/manifests/test.serval.${name}/executable/1.0.0`, { body: await buildWat('bird-job') });
  assert.equal(put.status, 201, put.text);
}

describe('extensions (HTTP)', function () {
  this.timeout(30_000);
  let dir: string;
  let agent: TestAgent;
  let bare: TestAgent;
  let extension: Uint8Array;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'serval-extensions-'));
    extension = await buildWat('birdfeeder');
    await writeFile(path.join(dir, 'birdfeeder.wasm'), extension);
    await writeFile(path.join(dir, 'README.txt'), 'not an extension');
    agent = await startTestAgent({ extensionsDir: dir });
    bare = await startTestAgent();
    await storeBirdJob(agent, 'declared', 'required_extensions = ["birdfeeder"]');
    await storeBirdJob(agent, 'undeclared', '');
    await storeBirdJob(bare, 'declared', 'required_extensions = ["birdfeeder"]');
  });
  after(async () => {
    await agent?.stop();
    await bare?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists each *.wasm of the folder by stem, with integrity, size and exports', async () => {
    const answer = await request(agent.url, 'GET', '/v1/extensions');
    assert.equal(answer.status, 200);
    assert.deepEqual(JSON.parse(answer.text), [{ name: 'birdfeeder', integrity: sriOf(extension), size: extension.length, exports: ['memory', 'feed'] }]);
    assert.deepEqual(JSON.parse((await request(bare.url, 'GET', '/v1/extensions')).text), []);
  });

  it('links a declared extension: a fresh instance per run, writing through the job\'s stdout', async () => {
    for (let run = 0; run < 2; run++) {
      const answer = await request(agent.url, 'POST', '/v1/jobs/test.serval.declared/run');
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.headers['serval-exit-code'], '0', 'feed(21) is 42 on a fresh instance');
      assert.equal(answer.text, 'seeds\n');
    }
  });

  it('refuses an import from an undeclared extension with 422 saying which declaration is missing', async () => {
    const answer = await request(agent.url, 'POST', '/v1/jobs/test.serval.undeclared/run');
    assert.equal(answer.status, 422);
    assert.match(answer.text, /extension "birdfeeder" declaration missing/);
    assert.match(answer.text, /required_extensions = \["birdfeeder"\]/);
  });

  it('refuses a declared extension the agent lacks with 422', async () => {
    const answer = await request(bare.url, 'POST', '/v1/jobs/test.serval.declared/run');
    assert.equal(answer.status, 422);
    assert.match(answer.text, /extension birdfeeder is not available on this agent/);
  });

  it("counts the extensions' memory with the job's against its memory limit", async () => {
    await writeFile(path.join(dir, 'hoarder.wasm'), await buildWat('hoarder'));
    const hoarding = await startTestAgent({ extensionsDir: dir, limits: { timeoutMs: 5_000, memoryBytes: 4 << 20, outputBytes: 1 << 16 } });
    try {
      const manifest = await request(hoarding.url, 'POST', '/v1/storage/manifests', { body: manifestText('hoard', '1.0.0', 'required_extensions = ["hoarder"]') });
      assert.equal(manifest.status, 201, manifest.text);
      const put = await request(hoarding.url, 'PUT', '/v1/storage/manifests/test.serval.hoard/executable/1.0.0', { body: await buildWat('hoard-job') });
      assert.equal(put.status, 201, put.text);
      const within = await request(hoarding.url, 'POST', '/v1/jobs/test.serval.hoard/run', { body: 's' });
      assert.equal(within.headers['serval-exit-code'], '0', within.text);
      assert.equal(within.text, 'held\n');
      // 3 MiB each, under the 4 MiB limit alone, 6 MiB together: ended at the extension's next WASI call.
      const past = await request(hoarding.url, 'POST', '/v1/jobs/test.serval.hoard/run', { body: 'b' });
      assert.match(String(past.headers['serval-trap']), /memory limit: the job and its extensions hold 6 MiB together, more than the job's limit of 4 MiB/);
      assert.doesNotMatch(past.text, /held/);
    } finally {
      await hoarding.stop();
    }
  });
});
