/**
 * The agent against overload and hostile input: every refusal is quick, says why, and leaves the
 * agent running jobs.
 */
import * as assert from 'node:assert/strict';

import { request, startTestAgent, storeJob, waitFor, type TestAgent } from '../helpers/agent';
import { buildWat } from '../helpers/wat';

const runPath = (name: string): string => `/v1/jobs/test.serval.${name}/run`;

describe('agent HTTP: bounded overload', function () {
  this.timeout(30_000);
  let agent: TestAgent;

  async function startWith(maxQueuedJobs: number): Promise<void> {
    agent = await startTestAgent({ workers: 1, maxQueuedJobs, limits: { timeoutMs: 1_000, memoryBytes: 16 << 20, outputBytes: 1 << 16 } });
    await storeJob(agent, 'spin', '1', await buildWat('spin'));
    await storeJob(agent, 'hello', '1', await buildWat('hello'));
  }

  afterEach(async () => {
    await agent.stop();
  });

  const running = async (): Promise<number> => JSON.parse((await request(agent.url, 'GET', '/v1/jobs')).text).length;

  it('answers 503 with Retry-After at once when every worker is busy and the queue is full', async () => {
    await startWith(1);
    const spinning = request(agent.url, 'POST', runPath('spin'));
    await waitFor('the spinning job to run', async () => (await running()) === 1);
    const queued = request(agent.url, 'POST', runPath('hello'));
    await waitFor('the second job to wait', async () => (await running()) === 2);
    const refused = await request(agent.url, 'POST', runPath('hello'), { body: 'input' });
    assert.equal(refused.status, 503);
    assert.match(refused.headers['retry-after'] ?? '', /^[1-9]\d*$/);
    assert.match(refused.text, /job queue is full \(--max-queued-jobs\); the job was not run/);
    assert.ok(refused.headers['serval-job-id'], 'a refused run still carries its job id');
    assert.equal((await spinning).status, 504);
    assert.ok([200, 503].includes((await queued).status));
    assert.equal((await request(agent.url, 'POST', runPath('hello'))).text, 'hello, world\n');
  });

  it('answers 503 to a job that waited past its time limit, and does not run it late', async () => {
    await startWith(5);
    const first = request(agent.url, 'POST', runPath('spin'));
    await waitFor('the spinning job to run', async () => (await running()) === 1);
    const second = request(agent.url, 'POST', runPath('spin'));
    const late = await request(agent.url, 'POST', runPath('hello'));
    assert.equal(late.status, 503);
    assert.match(late.headers['retry-after'] ?? '', /^[1-9]\d*$/);
    assert.match(late.text, /waited \d+ ms for a free worker, longer than its time limit, and was not run/);
    assert.equal((await first).status, 504);
    assert.ok([503, 504].includes((await second).status));
    assert.equal((await request(agent.url, 'POST', runPath('hello'))).text, 'hello, world\n');
  });
});
