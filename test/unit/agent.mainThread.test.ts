/**
 * Through the agent's HTTP API: a job that proved quick runs on the agent's own thread, and what a
 * client sees is the same as from a worker: its output, the time limit (504), a sleep, a trap,
 * isolation between jobs; pings stay answered; `--workers-only` keeps every job in a worker.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { DEFAULT_JOB_LIMITS } from '../../src/agent/runner/types';
import { request, startTestAgent, storeJob, type TestAgent } from '../helpers/agent';
import { buildWat, WAT_FIXTURES, watToWasm } from '../helpers/wat';

const LIMITS = { ...DEFAULT_JOB_LIMITS, timeoutMs: 500 };
const WARM_UP_RUNS = 1000;
/** What the isolation probe prints when it finds no secret (see runnerIsolation.test.ts). */
const CLEAN = '---\u0002';

const runPath = (name: string) => `/v1/jobs/test.serval.${name}/run`;

describe('agent HTTP: quick jobs on the agent thread', function () {
  this.timeout(60_000);
  let agent: TestAgent;

  // An agent per test: each run given back doubles the quick runs a module must make again.
  beforeEach(async () => {
    agent = await startTestAgent({ limits: LIMITS });
    await storeJob(agent, 'moody', '1', await buildWat('moody'));
    await storeJob(agent, 'probe', '1', await buildWat('secret'));
    const source = await fs.readFile(path.join(WAT_FIXTURES, 'secret.wat'), 'utf8');
    await storeJob(agent, 'other_probe', '1', await watToWasm(source.replace('(func $marker)', '(func $marker) (func $other)'), 'other.wat', { reference_types: true }));
  });
  afterEach(() => agent.stop());

  const run = (name: string, input: string) => request(agent.url, 'POST', runPath(name), { body: input });

  /** Runs `name` with `input` until the agent answers a run of it from its own thread. */
  async function warmUp(name: string, input: string, expected: string): Promise<void> {
    const before = agent.agent.mainThreadRuns();
    for (let i = 0; i < WARM_UP_RUNS && agent.agent.mainThreadRuns() === before; i++) {
      const answer = await run(name, input);
      assert.equal(answer.status, 200);
      assert.equal(answer.text, expected);
    }
    assert.ok(agent.agent.mainThreadRuns() > before, `no run of ${name} on the agent thread after ${WARM_UP_RUNS} runs`);
  }

  it('answers a quick job the same, with its headers, from the agent thread', async () => {
    await warmUp('moody', 'q', 'quick\n');
    const answer = await run('moody', 'q');
    assert.equal(answer.status, 200);
    assert.equal(answer.text, 'quick\n');
    assert.equal(answer.headers['serval-exit-code'], '0');
    assert.ok(answer.headers['serval-job-id'] && answer.headers['serval-duration-ms'] !== undefined);
  });

  it('answers 504 at the time limit for a job that proved quick and then spins, and keeps answering pings', async () => {
    await warmUp('moody', 'q', 'quick\n');
    const spinning = run('moody', 's');
    const ping = await request(agent.url, 'GET', '/monitor/ping');
    assert.equal(ping.status, 200);
    const answer = await spinning;
    assert.equal(answer.status, 504);
    assert.equal(answer.headers['serval-limit'], 'time');
  });

  it('lets a job that proved quick sleep, in a worker, and answers what it printed', async () => {
    await warmUp('moody', 'q', 'quick\n');
    const answer = await run('moody', 'z');
    assert.equal(answer.status, 200);
    assert.equal(answer.text, 'slept\n');
  });

  it('reports a trap of a job that proved quick as a trap', async () => {
    await warmUp('moody', 'q', 'quick\n');
    const answer = await run('moody', 't');
    assert.equal(answer.status, 200);
    assert.match(String(answer.headers['serval-trap']), /unreachable/);
  });

  it('leaves no secret for the next job, of the same module or another, after exits, growth and traps', async () => {
    await warmUp('probe', 'r', CLEAN);
    await warmUp('other_probe', 'r', CLEAN);
    for (const write of ['w', 'wg', 'wt', 'w']) {
      for (const [writer, reader] of [
        ['probe', 'probe'],
        ['probe', 'other_probe'],
        ['other_probe', 'probe'],
      ] as const) {
        await run(writer, write);
        const answer = await run(reader, 'r');
        assert.equal(answer.text, CLEAN, `${reader} after ${writer} wrote (${write})`);
      }
    }
  });
});

describe('agent HTTP: --workers-only', function () {
  this.timeout(30_000);
  it('runs every job in a worker', async () => {
    const agent = await startTestAgent({ limits: LIMITS, mainThreadRuns: false });
    try {
      await storeJob(agent, 'moody', '1', await buildWat('moody'));
      for (let i = 0; i < 60; i++) assert.equal((await request(agent.url, 'POST', runPath('moody'), { body: 'q' })).text, 'quick\n');
      assert.equal(agent.agent.mainThreadRuns(), 0);
    } finally {
      await agent.stop();
    }
  });
});
