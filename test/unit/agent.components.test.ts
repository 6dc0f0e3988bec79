/** Components through the agent's HTTP API: upload checks, runs, limits, and the agent staying up. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { manifestText, request, startTestAgent, type TestAgent } from '../helpers/agent';
import { componentFixture, loudify } from '../helpers/components';

const LIMITS = { timeoutMs: 1_500, memoryBytes: 16 * 1024 * 1024, outputBytes: 64 * 1024 };
const JOB = 'test.serval.component';
const executablePath = (version: string): string => `/v1/storage/manifests/${JOB}/executable/${version}`;
const runPath = (version: string): string => `/v1/jobs/${JOB}/run?version=${version}`;

describe('agent HTTP: components', () => {
  let agent: TestAgent;

  before(async () => {
    agent = await startTestAgent({ limits: LIMITS });
    const stored = await request(agent.url, 'POST', '/v1/storage/manifests', { body: manifestText('component', '1.0.0') });
    assert.equal(stored.status, 201, stored.text);
  });
  after(async () => {
    await agent.stop();
  });

  async function upload(version: string, bytes: Uint8Array): Promise<{ status: number; text: string }> {
    return request(agent.url, 'PUT', executablePath(version), { body: bytes });
  }

  it('stores a wasi:cli/command component and runs it like a module', async () => {
    assert.equal((await upload('1.0.0', await loudify('component'))).status, 201);
    const answer = await request(agent.url, 'POST', runPath('1.0.0'), { body: 'quiet please\n' });
    assert.equal(answer.status, 200);
    assert.equal(answer.text, 'QUIET PLEASE\n');
    assert.equal(answer.headers['serval-exit-code'], '0');
  });

  it('refuses at upload, with 400 naming them, a component importing sockets or http', async () => {
    const answer = await upload('2.0.0', await componentFixture('sockets'));
    assert.equal(answer.status, 400);
    assert.match(answer.text, /wasi:sockets\/tcp@0\.2\.0/);
    assert.match(answer.text, /wasi:http\/outgoing-handler@0\.2\.0/);
    assert.match(answer.text, /does not host/);
    const versions = await request(agent.url, 'GET', `/v1/storage/manifests/${JOB}/executables`);
    assert.doesNotMatch(versions.text, /2\.0\.0/);
  });

  it('refuses at upload a component that is not a wasi:cli/command, and a damaged one', async () => {
    const library = await upload('2.0.1', await componentFixture('library'));
    assert.equal(library.status, 400);
    assert.match(library.text, /does not export wasi:cli\/run/);
    const cut = (await loudify('component')).subarray(0, 5000);
    const damaged = await upload('2.0.2', cut);
    assert.equal(damaged.status, 400);
    assert.match(damaged.text, /not a valid WebAssembly component: .*truncated/);
  });

  it('ends a spinning component at the time limit and a flooding one at the output limit; the agent stays up', async () => {
    assert.equal((await upload('3.0.0', await componentFixture('spin'))).status, 201);
    assert.equal((await upload('3.0.1', await componentFixture('flood'))).status, 201);
    const [spin, flood] = await Promise.all([request(agent.url, 'POST', runPath('3.0.0')), request(agent.url, 'POST', runPath('3.0.1'))]);
    assert.equal(spin.status, 504);
    assert.equal(spin.headers['serval-limit'], 'time');
    assert.equal(flood.headers['serval-limit'], 'output');
    assert.equal(flood.body.length, LIMITS.outputBytes);
    assert.equal((await request(agent.url, 'GET', '/monitor/ping')).status, 200);
    assert.equal((await request(agent.url, 'POST', runPath('1.0.0'), { body: 'still here' })).text, 'STILL HERE');
  });

  it('transpiles at upload, once, and keeps it next to the store', async () => {
    const folder = path.join(agent.storageDir, 'transpiled-components');
    const before = await fs.readdir(folder);
    await upload('4.0.0', await loudify('component')); // same content as 1.0.0
    await request(agent.url, 'POST', runPath('4.0.0'), { body: 'x' });
    assert.deepEqual(await fs.readdir(folder), before);
    assert.equal(before.length, 3); // loudify, spin, flood
  });
});
