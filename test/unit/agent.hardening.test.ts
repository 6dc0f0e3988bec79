/**
 * The agent against overload and hostile input: every refusal is quick, says why, and leaves the
 * agent running jobs.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';

import { contentFile, sriOf } from '../../src/agent/storage';

import { type HttpAnswer, manifestText, request, startTestAgent, storeJob, waitFor, type TestAgent } from '../helpers/agent';
import { paddedModule } from '../helpers/ext4';
import { buildWat } from '../helpers/wat';

const runPath = (name: string): string => `/v1/jobs/test.serval.${name}/run`;

describe('agent HTTP: bounded overload', function () {
  this.timeout(40_000);
  let agent: TestAgent;

  async function startWith(maxQueuedJobs: number): Promise<void> {
    // 2 s: the requests each test sends in turn must all arrive while the first spin runs, even on a loaded machine.
    agent = await startTestAgent({ workers: 1, maxQueuedJobs, limits: { timeoutMs: 2_000, memoryBytes: 16 << 20, outputBytes: 1 << 16 } });
    await storeJob(agent, 'spin', '1', await buildWat('spin'));
    await storeJob(agent, 'hello', '1', await buildWat('hello'));
    // Both compiled now: a run waiting for its first compile counts as running but is in no worker,
    // and a later request could reach the queue before it.
    assert.equal((await request(agent.url, 'POST', runPath('hello'))).text, 'hello, world\n');
    assert.equal((await request(agent.url, 'POST', runPath('spin'))).status, 504);
  }

  afterEach(async () => {
    await agent.stop();
  });

  /** Sends a run and waits until the agent has it running or queued, so that the next request comes after it. */
  async function runInTurn(name: string, expect: { running: number; queued: number }): Promise<{ answer: Promise<HttpAnswer> }> {
    const answer = request(agent.url, 'POST', runPath(name));
    await waitFor(`${name} to be running or queued`, async () => {
      const { running } = JSON.parse((await request(agent.url, 'GET', '/monitor/status')).text).jobs;
      return running === expect.running && agent.agent.queuedJobs() === expect.queued;
    });
    // Wrapped: an async function returning the promise itself would wait for the answer.
    return { answer };
  }

  it('answers 503 with Retry-After at once when every worker is busy and the queue is full', async () => {
    await startWith(1);
    const { answer: spinning } = await runInTurn('spin', { running: 1, queued: 0 });
    const { answer: queued } = await runInTurn('hello', { running: 2, queued: 1 });
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
    const { answer: first } = await runInTurn('spin', { running: 1, queued: 0 });
    // The second spin is queued first, so the replacement worker takes it, not the hello.
    const { answer: second } = await runInTurn('spin', { running: 2, queued: 1 });
    const late = await request(agent.url, 'POST', runPath('hello'));
    assert.equal(late.status, 503);
    assert.match(late.headers['retry-after'] ?? '', /^[1-9]\d*$/);
    assert.match(late.text, /waited \d+ ms for a free worker, longer than its time limit, and was not run/);
    assert.equal((await first).status, 504);
    assert.ok([503, 504].includes((await second).status));
    assert.equal((await request(agent.url, 'POST', runPath('hello'))).text, 'hello, world\n');
  });
});

/** Sends `text` on a raw connection and resolves with everything the agent sent until it closed. */
function rawExchange(url: string, text: string | ((socket: net.Socket) => void)): Promise<{ answer: string; ms: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    const socket = net.connect(Number(port), hostname);
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve({ answer, ms: Date.now() - startedAt }));
    if (typeof text === 'string') socket.write(text);
    else text(socket);
  });
}

const MANIFESTS = '/v1/storage/manifests';

describe('agent HTTP: web pages (cross-origin guard)', function () {
  this.timeout(20_000);
  let agent: TestAgent;
  before(async () => {
    agent = await startTestAgent({ allowOrigins: ['http://localhost:3000'] });
  });
  after(async () => {
    await agent.stop();
  });

  const stored = async (): Promise<string[]> => JSON.parse((await request(agent.url, 'GET', MANIFESTS)).text);

  it('refuses a page of another origin with 403 naming --allow-origin, and stores nothing', async () => {
    const evil = { origin: 'http://evil.example', 'content-type': 'text/plain' };
    const answer = await request(agent.url, 'POST', MANIFESTS, { headers: evil, body: manifestText('evil', '1') });
    assert.equal(answer.status, 403);
    assert.match(answer.text, /Origin 'http:\/\/evil\.example' is not allowed; start the agent with --allow-origin http:\/\/evil\.example/);
    assert.equal(answer.headers['access-control-allow-origin'], undefined);
    const fetchSite = await request(agent.url, 'POST', MANIFESTS, { headers: { 'sec-fetch-site': 'cross-site' }, body: manifestText('evil', '1') });
    assert.equal(fetchSite.status, 403);
    assert.match(fetchSite.text, /Sec-Fetch-Site: cross-site.*--allow-origin/);
    assert.deepEqual(await stored(), []);
  });

  it('leaves requests without Origin (curl, the CLI, the extension) as they were', async () => {
    const answer = await request(agent.url, 'POST', MANIFESTS, { headers: { 'sec-fetch-site': 'none' }, body: manifestText('plain', '1') });
    assert.equal(answer.status, 201);
    assert.equal(answer.headers['access-control-allow-origin'], undefined);
    assert.deepEqual(await stored(), ['test.serval.plain']);
  });

  it('answers an allowed origin with CORS headers, and its preflight with 204', async () => {
    const origin = 'http://localhost:3000';
    const answer = await request(agent.url, 'GET', MANIFESTS, { headers: { origin } });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['access-control-allow-origin'], origin);
    assert.match(String(answer.headers['access-control-expose-headers']), /Serval-Job-Id/);
    assert.equal(answer.headers.vary, 'Origin');
    const preflight = await request(agent.url, 'OPTIONS', MANIFESTS, {
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], origin);
    assert.match(String(preflight.headers['access-control-allow-methods']), /POST/);
    const refused = await request(agent.url, 'OPTIONS', MANIFESTS, { headers: { origin: 'http://localhost:3001', 'access-control-request-method': 'POST' } });
    assert.equal(refused.status, 403);
    assert.equal(refused.headers['access-control-allow-origin'], undefined);
  });

  it('refuses a page with 403, not 401, when the agent has a token', async () => {
    const guarded = await startTestAgent({ token: 'secret' });
    try {
      const answer = await request(guarded.url, 'POST', MANIFESTS, { headers: { origin: 'http://evil.example' }, body: manifestText('evil', '1') });
      assert.equal(answer.status, 403);
      assert.match(answer.text, /--allow-origin/);
    } finally {
      await guarded.stop();
    }
  });
});

describe('agent HTTP: hostile requests', function () {
  this.timeout(30_000);
  let agent: TestAgent;
  before(async () => {
    agent = await startTestAgent({ maxBodyBytes: 64 * 1024, maxManifestBytes: 4096 });
  });
  after(async () => {
    await agent.stop();
  });

  it('answers a request with two Host headers 400', async () => {
    const { answer } = await rawExchange(agent.url, 'GET /monitor/ping HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /more than one Host header/);
  });

  it('refuses a manifest over --max-manifest-bytes with 413 naming the flag', async () => {
    const answer = await request(agent.url, 'POST', MANIFESTS, { body: manifestText('big', '1', `# ${'x'.repeat(5000)}`) });
    assert.equal(answer.status, 413);
    assert.match(answer.text, /limit of 4096 bytes; .*--max-manifest-bytes/);
  });

  it("refuses the versions '.' and '..' with 400 in the path, the query and the manifest", async () => {
    await request(agent.url, 'POST', MANIFESTS, { body: manifestText('dots', '1') });
    for (const path of [`${MANIFESTS}/test.serval.dots/executable/..`, `${MANIFESTS}/test.serval.dots/executable/%2e`, `${MANIFESTS}/test.serval.dots?version=..`, '/v1/jobs/test.serval.dots/run?version=.']) {
      // Raw: URL clients resolve '..' away before sending (which is why the agent refuses it).
      const method = path.includes('/run') ? 'POST' : 'GET';
      const { answer } = await rawExchange(agent.url, `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      assert.match(answer, /^HTTP\/1\.1 400 /, path);
      assert.match(answer, /version must not be '\.' or '\.\.'/, path);
    }
    const manifest = await request(agent.url, 'POST', MANIFESTS, { body: manifestText('dots', '..') });
    assert.equal(manifest.status, 400);
    assert.match(manifest.text, /version must not be '\.' or '\.\.'/);
  });

  it('lets a plain client that writes its whole body read the 413 (20 of 20 tries, sized and chunked)', async () => {
    const body = Buffer.alloc(16 * 1024 * 1024, 'a');
    const seen: Array<number | string> = [];
    for (let i = 0; i < 20; i++) {
      const status = await new Promise<number | string>((resolve) => {
        const req = http.request(new URL(MANIFESTS, agent.url), { method: 'POST', agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
        if (i % 2 === 0) req.setHeader('content-length', body.byteLength);
        req.end(body);
      });
      seen.push(status);
    }
    assert.deepEqual(seen, Array(20).fill(413));
  });
});

describe('agent HTTP: slow and many connections', function () {
  this.timeout(30_000);
  let agent: TestAgent;
  before(async () => {
    agent = await startTestAgent({
      connections: { maxConnections: 4, headersTimeoutMs: 500, keepAliveTimeoutMs: 500, bodyWindowMs: 500, minBodyBytesPerWindow: 1000, lingerIdleMs: 500 },
    });
  });
  after(async () => {
    await agent.stop();
  });

  it('closes a silent connection, and one that sends its headers slowly, with 408', async () => {
    const silent = rawExchange(agent.url, () => undefined);
    const slowHeaders = rawExchange(agent.url, (socket) => {
      socket.write('GET /monitor/ping HTTP/1.1\r\n');
      const drip = setInterval(() => socket.write('X-Drip: 1\r\n'), 100);
      socket.once('close', () => clearInterval(drip));
    });
    for (const { answer } of await Promise.all([silent, slowHeaders])) assert.match(answer, /^HTTP\/1\.1 408 /);
  });

  it('answers a body that arrives too slowly (or misses its last chunk) 408 and closes', async () => {
    const { answer } = await rawExchange(agent.url, (socket) => {
      socket.write(`POST ${MANIFESTS} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nname \r\n`);
    });
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.match(answer, /request body arrived too slowly/);
  });

  it('refuses connections past --max-connections with a 503 it can read, logs it, and serves again after', async () => {
    const idle = await Promise.all(
      Array.from({ length: 4 }, () => new Promise<net.Socket>((resolve) => {
        const socket = net.connect(Number(new URL(agent.url).port), '127.0.0.1', () => resolve(socket));
        socket.on('error', () => undefined);
      })),
    );
    await waitFor('the agent to count the connections', () => true);
    const { answer } = await rawExchange(agent.url, 'GET /monitor/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 503 /);
    assert.match(answer, /--max-connections/);
    assert.ok(agent.logs.some((line) => line.level === 'warn' && /--max-connections/.test(line.message)));
    idle.forEach((socket) => socket.destroy());
    await waitFor('a connection to be free', async () => (await request(agent.url, 'GET', '/monitor/ping').catch(() => undefined))?.status === 200);
  });
});

describe('agent HTTP: wrong tokens', function () {
  this.timeout(30_000);
  it('slows down the 401s to an address that keeps guessing, and logs it once', async () => {
    const agent = await startTestAgent({ token: 'right' });
    try {
      const times: number[] = [];
      for (let i = 0; i < 24; i++) {
        const startedAt = Date.now();
        assert.equal((await request(agent.url, 'GET', MANIFESTS, { token: `guess-${i}` })).status, 401);
        times.push(Date.now() - startedAt);
      }
      assert.ok(Math.min(...times.slice(20)) >= 45, `the 21st and later 401s are slowed (${times.join(', ')} ms)`);
      assert.equal(agent.logs.filter((line) => /repeated wrong tokens/.test(line.message)).length, 1);
      assert.equal((await request(agent.url, 'GET', MANIFESTS, { token: 'right' })).status, 200, 'the right token still works');
    } finally {
      await agent.stop();
    }
  });
});

describe('agent HTTP: streamed uploads that fail', function () {
  this.timeout(60_000);
  const MiB = 1024 * 1024;
  let agent: TestAgent;
  let hello: Uint8Array;
  before(async () => {
    hello = await buildWat('hello');
    agent = await startTestAgent({ maxBodyBytes: 32 * MiB });
    await storeJob(agent, 'stream', '1', hello);
    assert.equal((await request(agent.url, 'POST', MANIFESTS, { body: manifestText('stream', '2') })).status, 201);
  });
  after(async () => {
    await agent.stop();
  });

  const executablePath = (version: string): string => `${MANIFESTS}/test.serval.stream/executable/${version}`;
  const staged = (): Promise<string[]> => fs.readdir(path.join(agent.storageDir, 'tmp')).catch(() => []);
  const versions = async (): Promise<string[]> =>
    (JSON.parse((await request(agent.url, 'GET', `${MANIFESTS}/test.serval.stream/executables`)).text) as Array<{ version: string }>).map((e) => e.version);

  /** Nothing of a failed upload anywhere a user could find it: not listed, not staged, not in the content store. */
  async function assertNothingOf(body: Uint8Array): Promise<void> {
    await waitFor('the staged upload to be removed', async () => (await staged()).length === 0);
    assert.deepEqual(await versions(), ['1']);
    assert.equal((await request(agent.url, 'GET', executablePath('2'))).status, 404);
    await assert.rejects(fs.stat(contentFile(agent.storageDir, sriOf(body))), { code: 'ENOENT' });
    // The default version still runs.
    const run = await request(agent.url, 'POST', runPath('stream'), { body: '' });
    assert.equal(run.status, 200);
  }

  it('a client gone mid-body leaves nothing stored, listed or staged, and the next upload is taken', async () => {
    const body = paddedModule(hello, 24 * MiB, 0x41);
    const { port } = new URL(agent.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(`PUT ${executablePath('2')} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.byteLength}\r\n\r\n`);
    socket.write(body.subarray(0, 8 * MiB));
    // The store is taking it in as it arrives: cut it off then.
    await waitFor('the upload to be staged', async () => (await staged()).length === 1);
    socket.destroy();
    await assertNothingOf(body);

    const again = await request(agent.url, 'PUT', executablePath('2'), { body });
    assert.equal(again.status, 201, again.text);
    assert.equal(again.text.trim(), sriOf(body));
    assert.deepEqual(await versions(), ['2', '1']);
    assert.equal((await request(agent.url, 'DELETE', executablePath('2'))).status, 204);
  });

  it('a large upload that is not a valid module is refused with 400 and leaves nothing', async () => {
    // A debug build's custom sections, then a code section that is garbage.
    const broken = Buffer.concat([paddedModule(hello, 20 * MiB, 0x42), Buffer.from([10, 3, 1, 0xff, 0xff])]);
    // A custom section that claims more bytes than the file has.
    const truncated = paddedModule(hello, 20 * MiB, 0x43).subarray(0, 19 * MiB);
    for (const body of [broken, truncated]) {
      const answer = await request(agent.url, 'PUT', executablePath('2'), { body });
      assert.equal(answer.status, 400);
      assert.match(answer.text, /not a valid WebAssembly module/);
      await assertNothingOf(body);
    }
  });

  it('a chunked upload that grows past --max-body-bytes is answered 413 as it streams and leaves nothing', async () => {
    const body = paddedModule(hello, 40 * MiB, 0x44);
    const status = await new Promise<number | string>((resolve) => {
      const req = http.request(new URL(executablePath('2'), agent.url), { method: 'PUT', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      req.end(body);
    });
    assert.equal(status, 413);
    await assertNothingOf(body);
  });
});
