import * as assert from 'node:assert/strict';

import { sriOf } from '../../src/agent/storage';
import type { ExecutableInfo } from '../../src/api/contract';
import { manifestText, request, startTestAgent, storeJob, type TestAgent } from '../helpers/agent';
import { buildWat } from '../helpers/wat';

const MANIFESTS = '/v1/storage/manifests';
const HELLO = `${MANIFESTS}/test.serval.hello`;

describe('agent HTTP: storage routes', () => {
  let agent: TestAgent;
  let hello: Uint8Array;

  before(async () => {
    hello = await buildWat('hello');
  });

  beforeEach(async () => {
    agent = await startTestAgent();
  });

  afterEach(async () => {
    await agent.stop();
  });

  it('stores a manifest: 201, its integrity as text/plain, Location of the fully-qualified name', async () => {
    const text = manifestText('Loud-Ify', '1.0.0');
    const answer = await request(agent.url, 'POST', MANIFESTS, { body: text });
    assert.equal(answer.status, 201);
    assert.equal(answer.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(answer.text, sriOf(Buffer.from(text)));
    assert.equal(answer.headers.location, `${MANIFESTS}/test.serval.loud_ify`);
  });

  it('gives the manifest back byte for byte as application/toml, by version or the one stored last', async () => {
    const v1 = `# comments and   spacing stay\r\n${manifestText('hello', '1')}\n[extra]\nkept = true\n`;
    const v2 = manifestText('hello', '2');
    await request(agent.url, 'POST', MANIFESTS, { body: v1 });
    await request(agent.url, 'POST', MANIFESTS, { body: v2 });

    const latest = await request(agent.url, 'GET', HELLO);
    assert.equal(latest.status, 200);
    assert.equal(latest.headers['content-type'], 'application/toml');
    assert.deepEqual(latest.body, Buffer.from(v2));
    assert.deepEqual((await request(agent.url, 'GET', `${HELLO}?version=1`)).body, Buffer.from(v1));

    const missing = await request(agent.url, 'GET', `${HELLO}?version=3`);
    assert.equal(missing.status, 404);
    assert.match(missing.text, /no manifest of version '3'/);
  });

  it('lists fully-qualified names sorted', async () => {
    assert.deepEqual(JSON.parse((await request(agent.url, 'GET', MANIFESTS)).text), []);
    for (const name of ['zeta', 'Alpha', 'mid-dle']) {
      await request(agent.url, 'POST', MANIFESTS, { body: manifestText(name, '1') });
    }
    const answer = await request(agent.url, 'GET', MANIFESTS);
    assert.equal(answer.headers['content-type'], 'application/json; charset=utf-8');
    assert.deepEqual(JSON.parse(answer.text), ['test.serval.alpha', 'test.serval.mid_dle', 'test.serval.zeta']);
  });

  it('answers HEAD on a manifest with 200 or 404 and no body', async () => {
    assert.equal((await request(agent.url, 'HEAD', HELLO)).status, 404);
    await request(agent.url, 'POST', MANIFESTS, { body: manifestText('hello', '1') });
    const head = await request(agent.url, 'HEAD', HELLO);
    assert.equal(head.status, 200);
    assert.equal(head.body.byteLength, 0);
  });

  it('refuses a manifest with a TOML error, naming the line and column', async () => {
    const answer = await request(agent.url, 'POST', MANIFESTS, { body: 'name = "x"\nversion = = 1\n' });
    assert.equal(answer.status, 400);
    assert.match(answer.text, /^manifest line 2, column \d+: /);
    assert.equal(answer.text.trimEnd().split('\n').length, 1);
  });

  it('refuses a manifest that breaks a rule, naming the field', async () => {
    const answer = await request(agent.url, 'POST', MANIFESTS, { body: manifestText('bad name', '1') });
    assert.equal(answer.status, 400);
    assert.match(answer.text, /name must be/);
    assert.deepEqual(JSON.parse((await request(agent.url, 'GET', MANIFESTS)).text), []);
  });

  it('refuses a manifest that is not UTF-8', async () => {
    const answer = await request(agent.url, 'POST', MANIFESTS, { body: Buffer.from([0x6e, 0x3d, 0xff, 0xfe]) });
    assert.equal(answer.status, 400);
    assert.match(answer.text, /not UTF-8/);
  });

  it('stores an executable (201, its integrity) and streams it back with Serval-Integrity', async () => {
    await request(agent.url, 'POST', MANIFESTS, { body: manifestText('hello', '1') });
    const put = await request(agent.url, 'PUT', `${HELLO}/executable/1`, { body: hello });
    assert.equal(put.status, 201);
    assert.equal(put.text, sriOf(hello));

    const get = await request(agent.url, 'GET', `${HELLO}/executable/1`);
    assert.equal(get.status, 200);
    assert.equal(get.headers['content-type'], 'application/octet-stream');
    assert.equal(get.headers['serval-integrity'], sriOf(hello));
    assert.deepEqual(get.body, Buffer.from(hello));

    const head = await request(agent.url, 'HEAD', `${HELLO}/executable/1`);
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(hello.byteLength));
    assert.equal(head.body.byteLength, 0);
  });

  it('accepts an executable whose Serval-Integrity matches, and refuses one that does not', async () => {
    await request(agent.url, 'POST', MANIFESTS, { body: manifestText('hello', '1') });
    const good = await request(agent.url, 'PUT', `${HELLO}/executable/1`, {
      body: hello,
      headers: { 'serval-integrity': sriOf(hello) },
    });
    assert.equal(good.status, 201);

    const other = sriOf(Buffer.from('something else'));
    const bad = await request(agent.url, 'PUT', `${HELLO}/executable/2`, { body: hello, headers: { 'serval-integrity': other } });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /Serval-Integrity/);
    assert.ok(bad.text.includes(other));

    const malformed = await request(agent.url, 'PUT', `${HELLO}/executable/2`, { body: hello, headers: { 'serval-integrity': 'md5-x' } });
    assert.equal(malformed.status, 400);
    assert.match(malformed.text, /not a sha256 SRI integrity/);
    assert.equal((await request(agent.url, 'GET', `${HELLO}/executable/2`)).status, 404);
  });

  it('refuses bytes that are not a WebAssembly module, with a 400 that says so', async () => {
    await request(agent.url, 'POST', MANIFESTS, { body: manifestText('hello', '1') });
    const answer = await request(agent.url, 'PUT', `${HELLO}/executable/1`, { body: '<html>not wasm</html>' });
    assert.equal(answer.status, 400);
    assert.match(answer.text, /^the body is not a valid WebAssembly module: /);
    // A well-formed header with a body that fails validation is refused too.
    const truncated = await request(agent.url, 'PUT', `${HELLO}/executable/1`, { body: hello.subarray(0, hello.byteLength - 3) });
    assert.equal(truncated.status, 400);
    assert.deepEqual(JSON.parse((await request(agent.url, 'GET', `${HELLO}/executables`)).text), []);
  });

  it('refuses an executable for a manifest that is not stored (404)', async () => {
    const answer = await request(agent.url, 'PUT', `${HELLO}/executable/1`, { body: hello });
    assert.equal(answer.status, 404);
    assert.match(answer.text, /no manifest named 'test.serval.hello' is stored; publish it first \(serval store, or Publish Job in VS Code\)/);
  });

  it('lists executables newest first as {version, integrity, size, stored_at}', async () => {
    await storeJob(agent, 'hello', '1', hello);
    const uppercase = await buildWat('uppercase');
    await storeJob(agent, 'hello', '2', uppercase);

    const answer = await request(agent.url, 'GET', `${HELLO}/executables`);
    assert.equal(answer.status, 200);
    const listed = JSON.parse(answer.text) as ExecutableInfo[];
    assert.deepEqual(
      listed.map(({ version, integrity, size }) => ({ version, integrity, size })),
      [
        { version: '2', integrity: sriOf(uppercase), size: uppercase.byteLength },
        { version: '1', integrity: sriOf(hello), size: hello.byteLength },
      ],
    );
    assert.ok(listed.every((e) => !Number.isNaN(Date.parse(e.stored_at))));
    assert.ok(listed[0].stored_at >= listed[1].stored_at);
    assert.equal((await request(agent.url, 'GET', `${MANIFESTS}/test.serval.none/executables`)).status, 404);
  });

  it('deletes one version (204), then 404 for it, and the others stay', async () => {
    await storeJob(agent, 'hello', '1', hello);
    await storeJob(agent, 'hello', '2', hello);
    assert.equal((await request(agent.url, 'DELETE', `${HELLO}/executable/1`)).status, 204);
    assert.equal((await request(agent.url, 'GET', `${HELLO}/executable/1`)).status, 404);
    assert.equal((await request(agent.url, 'DELETE', `${HELLO}/executable/1`)).status, 404);
    assert.equal((await request(agent.url, 'GET', `${HELLO}/executable/2`)).status, 200);
  });

  it('deletes a manifest with all its executables (204), then 404 everywhere', async () => {
    await storeJob(agent, 'hello', '1', hello);
    await storeJob(agent, 'hello', '2', hello);
    assert.equal((await request(agent.url, 'DELETE', HELLO)).status, 204);
    assert.equal((await request(agent.url, 'GET', HELLO)).status, 404);
    assert.equal((await request(agent.url, 'GET', `${HELLO}/executables`)).status, 404);
    assert.equal((await request(agent.url, 'GET', `${HELLO}/executable/1`)).status, 404);
    assert.equal((await request(agent.url, 'DELETE', HELLO)).status, 404);
    assert.deepEqual(JSON.parse((await request(agent.url, 'GET', MANIFESTS)).text), []);
  });

  it('keeps everything across a restart on the same folder', async () => {
    await storeJob(agent, 'hello', '1', hello);
    const listed = (await request(agent.url, 'GET', `${HELLO}/executables`)).text;
    // One agent per folder: the first stops (its folder stays), the second opens it.
    await agent.agent.close();
    const restarted = await startTestAgent({ storageDir: agent.storageDir });
    try {
      assert.equal((await request(restarted.url, 'GET', `${HELLO}/executables`)).text, listed);
      assert.deepEqual((await request(restarted.url, 'GET', `${HELLO}/executable/1`)).body, Buffer.from(hello));
    } finally {
      await restarted.stop();
    }
  });
});
