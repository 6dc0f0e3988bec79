/**
 * Jobs built by real toolchains, stored and run through a real agent over HTTP: what a user of
 * the API sees for each outcome (stdout, stderr with the exit code, a panic's trap).
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { request, startTestAgent, storeJob, type TestAgent } from '../helpers/agent';
import { commandInput, fnv1a, pseudoRandomBytes, toolchainWasm } from './conformanceJobs';

const MiB = 1024 * 1024;
const runPath = (name: string): string => `/v1/jobs/test.serval.${name}/run`;
const JOBS = ['c', 'cpp', 'rust', 'rust-crates', 'assemblyscript', 'emscripten'] as const;
const jobName = (folder: (typeof JOBS)[number]): string => `conformance_${folder.replace(/-/g, '_')}`;

function assertJobHeaders(headers: http.IncomingHttpHeaders): void {
  assert.match(String(headers['serval-job-id']), /^[0-9a-f-]{36}$/);
  assert.match(String(headers['serval-duration-ms']), /^\d+$/);
}

describe('conformance: jobs built by real toolchains, through the HTTP agent', function () {
  this.timeout(60_000);
  let agent: TestAgent;

  before(async () => {
    agent = await startTestAgent({ limits: { timeoutMs: 20_000, memoryBytes: 64 * MiB, outputBytes: 16 * MiB } });
    for (const folder of JOBS) await storeJob(agent, jobName(folder), '1.0.0', await toolchainWasm(folder));
  });
  after(() => agent.stop());

  const run = (folder: (typeof JOBS)[number], body: string | Uint8Array) => request(agent.url, 'POST', runPath(jobName(folder)), { body });

  for (const folder of ['c', 'cpp', 'rust', 'assemblyscript', 'emscripten'] as const) {
    it(`${folder}: 200 with stdout for a 5 MB body, and Serval-Exit-Code 0`, async () => {
      const payload = pseudoRandomBytes(5 * MiB, 3);
      const answer = await run(folder, commandInput('count', payload));
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['serval-exit-code'], '0');
      assert.equal(answer.text, `bytes=${payload.length} fnv=${fnv1a(payload)}\n`);
      assertJobHeaders(answer.headers);
    });

    it(`${folder}: 200 with stderr only and Serval-Exit-Code 42 for exit(42)`, async () => {
      const answer = await run(folder, 'exit 42');
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['serval-exit-code'], '42');
      assert.equal(answer.text, 'exiting with 42\n');
    });

    it(`${folder}: an empty body is an empty stdin`, async () => {
      const answer = await run(folder, '');
      assert.equal(answer.status, 200);
      assert.equal(answer.text, 'bytes=0 fnv=811c9dc5\n');
    });
  }

  it('rust: a panic answers its message on stderr, a trap line and Serval-Trap', async () => {
    const answer = await run('rust', 'panic');
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['serval-trap'], 'unreachable');
    assert.equal(answer.headers['serval-exit-code'], undefined);
    assert.match(answer.text, /^thread 'main' panicked at 'boom: the job panicked on purpose', job\.rs:\d+:\d+\n/);
    assert.match(answer.text, /\njob trapped: unreachable\n$/);
    assertJobHeaders(answer.headers);
  });

  it('c: abort() answers what it printed on stderr and Serval-Trap', async () => {
    const answer = await run('c', 'panic');
    assert.equal(answer.headers['serval-trap'], 'unreachable');
    assert.equal(answer.text, 'aborting\njob trapped: unreachable\n');
  });

  it('rust with crates: JSON in, JSON out; bad JSON answers serde\'s message with exit code 1', async () => {
    const good = await run('rust-crates', JSON.stringify({ customer: 'Bo', items: [{ name: 'pen', price_cents: 120, quantity: 3 }] }));
    assert.equal(good.status, 200);
    assert.deepEqual(JSON.parse(good.text), { customer: 'Bo', items: 1, total_cents: 360, most_expensive: 'pen' });
    const bad = await run('rust-crates', '{"customer": "Bo", "items": [}');
    assert.equal(bad.headers['serval-exit-code'], '1');
    assert.match(bad.text, /^bad order: .* at line 1 column \d+\n$/);
  });

  it('c: a job that opens files, sleeps and exhausts memory leaves the agent serving others', async () => {
    const [files, oom, clock] = await Promise.all([run('c', 'file'), run('c', 'oom'), run('cpp', 'clock')]);
    assert.equal(files.text, 'open /etc/passwd: failed\nopen data.txt: failed\nopen out.txt: failed\nfopen /tmp/x: failed\n');
    assert.match(oom.text, /^allocated \d+ MiB, then malloc failed\n$/);
    assert.equal(clock.text, 'realtime after 2020: yes\nslept at least 20 ms: yes\ntime(): yes\n');
    const ping = await request(agent.url, 'GET', '/monitor/ping');
    assert.equal(ping.text, 'pong');
  });
});
