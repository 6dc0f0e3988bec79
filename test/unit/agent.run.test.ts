import * as assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import * as http from 'node:http';


import { contentFile, sriOf } from '../../src/agent/storage';
import type { AgentStatus, RunningJob } from '../../src/api/contract';
import { manifestText, request, startTestAgent, storeJob, waitFor, type TestAgent } from '../helpers/agent';
import { buildWat } from '../helpers/wat';

const MANIFESTS = '/v1/storage/manifests';
const runPath = (name: string, query = ''): string => `/v1/jobs/test.serval.${name}/run${query}`;

const LIMITS = { timeoutMs: 1_500, memoryBytes: 16 * 1024 * 1024, outputBytes: 64 * 1024 };

function assertJobHeaders(headers: http.IncomingHttpHeaders): void {
  assert.match(String(headers['serval-job-id']), /^[0-9a-f-]{36}$/);
  assert.match(String(headers['serval-duration-ms']), /^\d+$/);
}

describe('agent HTTP: running jobs', () => {
  let agent: TestAgent;

  before(async () => {
    agent = await startTestAgent({ limits: LIMITS });
    for (const fixture of ['hello', 'uppercase', 'exit-code', 'trap', 'spin', 'memory-hog', 'output-flood', 'no-start', 'unknown-import']) {
      await storeJob(agent, fixture.replace(/-/g, '_'), '1', await buildWat(fixture));
    }
  });

  after(async () => {
    await agent.stop();
  });

  it('answers 200 with stdout, Serval-Exit-Code 0, a job id and a duration', async () => {
    const answer = await request(agent.url, 'POST', runPath('hello'));
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['content-type'], 'application/octet-stream');
    assert.equal(answer.text, 'hello, world\n');
    assert.equal(answer.headers['serval-exit-code'], '0');
    assertJobHeaders(answer.headers);
  });

  it('gives the request body to the job as stdin', async () => {
    // Bigger than one read, smaller than the output limit.
    const input = Buffer.concat([Buffer.from('shout this, '), Buffer.alloc(40_000, 'a')]);
    const answer = await request(agent.url, 'POST', runPath('uppercase'), { body: input });
    assert.equal(answer.status, 200);
    assert.ok(answer.text === input.toString().toUpperCase(), 'stdout is the input in upper case');
  });

  it('answers stderr and the exit code when the job exits with a non-zero code', async () => {
    const answer = await request(agent.url, 'POST', runPath('exit_code'));
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['serval-exit-code'], '3');
    // The fixture's stderr line; its stdout line is not in the answer.
    assert.equal(answer.text, 'something went wrong\n');
    assertJobHeaders(answer.headers);
  });

  it('answers stderr and a line naming the trap, with Serval-Trap, when the job traps', async () => {
    const answer = await request(agent.url, 'POST', runPath('trap'));
    assert.equal(answer.status, 200);
    assert.ok(answer.headers['serval-trap'], 'Serval-Trap is set');
    assert.equal(answer.headers['serval-exit-code'], undefined);
    const lines = answer.text.trimEnd().split('\n');
    assert.equal(lines[0], 'about to trap');
    assert.equal(lines[1], `job trapped: ${answer.headers['serval-trap']}`);
    assertJobHeaders(answer.headers);
  });

  it('answers 504 with Serval-Limit: time for a job that spins, then serves the next request', async () => {
    const answer = await request(agent.url, 'POST', runPath('spin'));
    assert.equal(answer.status, 504);
    assert.equal(answer.headers['serval-limit'], 'time');
    assert.equal(answer.text, `job ran past its time limit of ${LIMITS.timeoutMs} ms\n`);
    assertJobHeaders(answer.headers);
    assert.equal((await request(agent.url, 'POST', runPath('hello'))).text, 'hello, world\n');
  });

  it('lets a memory hog fail to grow at the limit, ending only itself', async () => {
    const answer = await request(agent.url, 'POST', runPath('memory_hog'));
    assert.equal(answer.status, 200);
    // The fixture exits with the memory it reached, in MiB: exactly the limit.
    assert.equal(answer.headers['serval-exit-code'], String(LIMITS.memoryBytes / 1024 / 1024));
    assert.equal((await request(agent.url, 'POST', runPath('hello'))).text, 'hello, world\n');
  });

  it('stops an output flood at the output limit with Serval-Limit: output', async () => {
    const answer = await request(agent.url, 'POST', runPath('output_flood'));
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['serval-limit'], 'output');
    assert.equal(answer.body.byteLength, LIMITS.outputBytes);
    assert.ok(answer.body.every((byte) => byte === 'x'.charCodeAt(0)));
    assert.equal((await request(agent.url, 'POST', runPath('hello'))).text, 'hello, world\n');
  });

  it('answers 422 with the reason for an executable that is not a runnable WASI command', async () => {
    const noStart = await request(agent.url, 'POST', runPath('no_start'));
    assert.equal(noStart.status, 422);
    assert.match(noStart.text, /_start/);
    assertJobHeaders(noStart.headers);
    const unknownImport = await request(agent.url, 'POST', runPath('unknown_import'));
    assert.equal(unknownImport.status, 422);
    assert.match(unknownImport.text, /env/);
  });

  it('answers 404 for a name that is not stored, and for a version without an executable', async () => {
    const noName = await request(agent.url, 'POST', runPath('nothing'));
    assert.equal(noName.status, 404);
    assert.match(noName.text, /no manifest named 'test.serval.nothing'/);
    const noVersion = await request(agent.url, 'POST', runPath('hello', '?version=9'));
    assert.equal(noVersion.status, 404);
    assert.match(noVersion.text, /has no executable for version '9'; publish that version \(serval store, or Publish Job in VS Code\)/);
  });

  it('runs ?version=V, else the version of the manifest stored last', async () => {
    await storeJob(agent, 'pick', '1', await buildWat('hello'));
    await storeJob(agent, 'pick', '2', await buildWat('uppercase'));
    const input = { body: 'abc' };
    assert.equal((await request(agent.url, 'POST', runPath('pick'), input)).text, 'ABC');
    assert.equal((await request(agent.url, 'POST', runPath('pick', '?version=1'), input)).text, 'hello, world\n');

    // Storing the manifest of version 1 again makes it the version stored last.
    await request(agent.url, 'POST', MANIFESTS, { body: manifestText('pick', '1') });
    assert.equal((await request(agent.url, 'POST', runPath('pick'), input)).text, 'hello, world\n');
  });

  it('answers 413 for input over the limit, and keeps serving', async () => {
    const small = await startTestAgent({ maxBodyBytes: 1024 });
    try {
      await storeJob(small, 'hello', '1', await buildWat('hello'));
      const answer = await request(small.url, 'POST', runPath('hello'), { body: Buffer.alloc(4096) });
      assert.equal(answer.status, 413);
      assert.match(answer.text, /job input is larger than this agent's limit of 1024 bytes/);
      assert.equal((await request(small.url, 'POST', runPath('hello'), { body: Buffer.alloc(1024) })).status, 200);
    } finally {
      await small.stop();
    }
  });

  it('lists a running job in /v1/jobs, and aborts it when its client disconnects', async () => {
    // A time limit far past the wait below: only the disconnect can end the job in time.
    const patient = await startTestAgent({ limits: { ...LIMITS, timeoutMs: 120_000 } });
    try {
      await storeJob(patient, 'spin', '1', await buildWat('spin'));
      const client = http.request(new URL(runPath('spin'), patient.url), { method: 'POST', agent: false });
      client.on('error', () => undefined);
      client.end();
      let listed: RunningJob[] = [];
      await waitFor('the job to be listed', async () => {
        listed = JSON.parse((await request(patient.url, 'GET', '/v1/jobs')).text) as RunningJob[];
        return listed.length === 1;
      });
      assert.equal(listed[0].name, 'test.serval.spin');
      assert.equal(listed[0].version, '1');
      assert.ok(!Number.isNaN(Date.parse(listed[0].started_at)));

      client.destroy();
      await waitFor('the aborted job to end', async () => (await request(patient.url, 'GET', '/v1/jobs')).text === '[]');
      assert.equal((await request(patient.url, 'POST', runPath('spin', '?version=nope'))).status, 404);
    } finally {
      await patient.stop();
    }
  });

  it('reports uptime, storage location and job counts in /monitor/status', async () => {
    const answer = await request(agent.url, 'GET', '/monitor/status');
    assert.equal(answer.status, 200);
    const status = JSON.parse(answer.text) as AgentStatus;
    assert.equal(status.storage.location, agent.storageDir);
    assert.ok(status.jobs.total >= 10);
    assert.ok(status.jobs.errors >= 5);
    assert.equal(status.jobs.running, 0);
    assert.match(status.instance_id, /^[0-9a-f-]{36}$/);
    assert.equal(typeof status.version, 'string');
    assert.ok(status.uptime_s >= 0);
    // Never a dump of what is stored.
    assert.deepEqual(Object.keys(status).sort(), ['instance_id', 'jobs', 'storage', 'uptime_s', 'version']);
  });
});

describe('agent HTTP: damaged executables', () => {
  it('answers 500 and neither serves nor runs an executable corrupted on disk', async () => {
    const agent = await startTestAgent();
    try {
      const wasm = await buildWat('hello');
      await storeJob(agent, 'hello', '1', wasm);
      const file = contentFile(agent.storageDir, sriOf(wasm));
      const bytes = await readFile(file);
      bytes[bytes.length - 1] ^= 0xff;
      await writeFile(file, bytes);

      const run = await request(agent.url, 'POST', runPath('hello'));
      assert.equal(run.status, 500);
      assert.match(run.text, /failed its integrity check and was not run/);
      assertJobHeaders(run.headers);
      const get = await request(agent.url, 'GET', `${MANIFESTS}/test.serval.hello/executable/1`);
      assert.equal(get.status, 500);
      assert.match(get.text, /failed its integrity check/);
      assert.ok(agent.logs.some((r) => r.level === 'error' && r.message.includes('integrity')));
    } finally {
      await agent.stop();
    }
  });
});

describe('agent: close()', () => {
  it('answers 503 to a job still running, stops listening, and resolves', async () => {
    const agent = await startTestAgent({ limits: { ...LIMITS, timeoutMs: 120_000 } });
    await storeJob(agent, 'spin', '1', await buildWat('spin'));
    const running = request(agent.url, 'POST', runPath('spin'));
    await waitFor('the job to start', async () => (await request(agent.url, 'GET', '/v1/jobs')).text !== '[]');

    await agent.stop();
    const answer = await running;
    assert.equal(answer.status, 503);
    assert.match(answer.text, /shutting down; run the job again/);
    await assert.rejects(request(agent.url, 'GET', '/monitor/ping'), { code: 'ECONNREFUSED' });
  });
});
