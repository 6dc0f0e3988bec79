/**
 * A JS component (componentize-js: the StarlingMonkey engine, ~11 MB) through the agent's HTTP API:
 * what a JS job sees and how it ends, under the same limits as any job. Fixture:
 * test/fixtures/components/js (job.js, built by its build.sh).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { manifestText, request, startTestAgent, type TestAgent } from '../helpers/agent';
import { COMPONENT_FIXTURES } from '../helpers/components';

const LIMITS = { timeoutMs: 3_000, memoryBytes: 256 * 1024 * 1024, outputBytes: 64 * 1024 };
const JOB = 'test.serval.jsjob';
const run = (agent: TestAgent, input: string, query = ''): ReturnType<typeof request> =>
  request(agent.url, 'POST', `/v1/jobs/${JOB}/run${query}`, { body: input });

describe('agent HTTP: a JS component', function () {
  this.timeout(60_000);
  let agent: TestAgent;

  before(async () => {
    agent = await startTestAgent({ limits: LIMITS });
    const manifest = await request(agent.url, 'POST', '/v1/storage/manifests', { body: manifestText('jsjob', '1.0.0') });
    assert.equal(manifest.status, 201, manifest.text);
    const component = await fs.readFile(path.join(COMPONENT_FIXTURES, 'js', 'job.component.wasm'));
    const stored = await request(agent.url, 'PUT', `/v1/storage/manifests/${JOB}/executable/1.0.0`, { body: component });
    assert.equal(stored.status, 201, stored.text);
  });
  after(async () => {
    await agent.stop();
  });

  it('runs, reading stdin and writing stdout, run after run', async () => {
    for (const input of ['hello from js\n', 'again', '']) {
      const answer = await run(agent, input);
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.headers['serval-exit-code'], '0');
      assert.equal(answer.text, input.toUpperCase());
    }
  });

  it("sees the run's arguments and environment, argv[0] being the job's name, and nothing of the agent's", async () => {
    const answer = await run(agent, 'env', '?arg=one&arg=two%20words&env=MODE%3Djs');
    assert.equal(answer.text, `argv[0]=${JOB}\nargv[1]=one\nargv[2]=two words\nenv MODE=js\n`);
  });

  it('reports the exit code it gives, with its stderr', async () => {
    const answer = await run(agent, 'exit 3');
    assert.equal(answer.headers['serval-exit-code'], '3');
    assert.equal(answer.text, 'exiting 3\n');
  });

  it('ends a spinning JS job at the time limit and a flooding one at the output limit; the agent stays up', async () => {
    const [spin, flood] = await Promise.all([run(agent, 'spin'), run(agent, 'flood')]);
    assert.equal(spin.status, 504);
    assert.equal(spin.headers['serval-limit'], 'time');
    assert.equal(flood.headers['serval-limit'], 'output');
    assert.equal(flood.body.length, LIMITS.outputBytes);
    assert.equal((await request(agent.url, 'GET', '/monitor/ping')).status, 200);
    assert.equal((await run(agent, 'still here')).text, 'STILL HERE');
  });
});
