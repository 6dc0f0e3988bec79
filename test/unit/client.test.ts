import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { DEFAULT_JOB_LIMITS } from '../../src/agent/runner/types';
import { AgentClient } from '../../src/client/client';
import {
  AgentTimeoutError,
  AgentUnreachableError,
  BadRequestError,
  NotFoundError,
  UnauthorizedError,
  UnsupportedByAgentError,
  isCancellation,
} from '../../src/client/errors';
import { sriOf } from '../../src/client/integrity';
import { startTestAgent } from '../helpers/agent';
import { buildWat } from '../helpers/wat';

const SAMPLES = path.resolve(__dirname, __dirname.includes(`${path.sep}out${path.sep}`) ? '../../../samples' : '../../samples');
const sample = (file: string) => readFileSync(path.join(SAMPLES, file));
const LOUDIFY_MANIFEST = sample('loudify/manifest.toml').toString('utf8');
const LOUDIFY_WASM = new Uint8Array(sample('loudify/loudify.wasm'));

type TestAgent = Awaited<ReturnType<typeof startTestAgent>>;

function manifestText(name: string, version: string): string {
  return `name = "${name}"\nnamespace = "test.client"\nversion = "${version}"\nbinary = "${name}.wasm"\ndescription = "a test job"\n`;
}

/** Stores a manifest and its executable; returns the fq name. */
async function storeJob(client: AgentClient, name: string, version: string, wasm: Uint8Array): Promise<string> {
  await client.storeManifest(manifestText(name, version));
  const fqName = `test.client.${name}`;
  await client.putExecutable(fqName, version, wasm);
  return fqName;
}

/** Rejects with the error `promise` rejects with, or fails the test when it resolves. */
async function errorOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Error, `not an Error: ${String(error)}`);
    return error;
  }
  assert.fail('expected the call to fail');
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, deadlineMs = 10_000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

interface Stub {
  url: string;
  server: http.Server;
  close(): Promise<void>;
}

/** A tiny real HTTP server on 127.0.0.1 that answers like an agent we cannot start here. */
async function startStub(handler: http.RequestListener): Promise<Stub> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('AgentClient against a real agent', function () {
  let agent: TestAgent;
  let client: AgentClient;

  before(async () => {
    agent = await startTestAgent({ limits: { ...DEFAULT_JOB_LIMITS, timeoutMs: 1_000 } });
    client = new AgentClient({ url: agent.url, token: agent.token, timeoutMs: 10_000 });
  });
  after(() => agent?.stop());

  it('pings the agent and reads its status', async () => {
    await client.ping();
    const status = await client.status();
    assert.equal(typeof status.instance_id, 'string');
    assert.equal(typeof status.uptime_s, 'number');
    assert.equal(typeof status.jobs.total, 'number');
  });

  it('stores a manifest, lists it, and gives back the text exactly as stored', async () => {
    const integrity = await client.storeManifest(LOUDIFY_MANIFEST);
    assert.equal(integrity, sriOf(new TextEncoder().encode(LOUDIFY_MANIFEST)));
    assert.ok((await client.listManifests()).includes('sh.serval.loudify'));
    assert.equal(await client.hasManifest('sh.serval.loudify'), true);
    assert.equal(await client.getManifest('sh.serval.loudify'), LOUDIFY_MANIFEST);
  });

  it('uploads, lists and downloads an executable, checked by its integrity', async () => {
    await client.storeManifest(LOUDIFY_MANIFEST);
    const integrity = await client.putExecutable('sh.serval.loudify', '1.0.0', LOUDIFY_WASM);
    assert.equal(integrity, sriOf(LOUDIFY_WASM));
    const versions = await client.listExecutables('sh.serval.loudify');
    const stored = versions.find((info) => info.version === '1.0.0');
    assert.deepEqual(stored && { integrity: stored.integrity, size: stored.size }, { integrity, size: LOUDIFY_WASM.length });
    assert.deepEqual(await client.getExecutable('sh.serval.loudify', '1.0.0'), LOUDIFY_WASM);
  });

  it('runs a job and returns its stdout with the Serval-* headers parsed', async () => {
    await client.storeManifest(LOUDIFY_MANIFEST);
    await client.putExecutable('sh.serval.loudify', '1.0.0', LOUDIFY_WASM);
    const result = await client.run('sh.serval.loudify', 'hello, world\n');
    assert.equal(result.exitCode, 0);
    assert.equal(Buffer.from(result.output).toString(), 'HELLO, WORLD\n');
    assert.equal(typeof result.jobId, 'string');
    assert.equal(typeof result.durationMs, 'number');
    assert.equal(result.trap, undefined);
    assert.equal(result.limit, undefined);
  });

  it("returns a failing job's exit code and stderr", async () => {
    const name = await storeJob(client, 'fail', '1.0.0', new Uint8Array(sample('fail/fail.wasm')));
    const result = await client.run(name, 'some input');
    assert.equal(result.exitCode, 2);
    assert.match(Buffer.from(result.output).toString(), /fail: refusing 10 bytes of input on purpose/);
  });

  it('runs the version asked for, and by default the version of the manifest stored last', async () => {
    const name = await storeJob(client, 'versioned', '1.0.0', LOUDIFY_WASM);
    await storeJob(client, 'versioned', '2.0.0', new Uint8Array(sample('fail/fail.wasm')));
    assert.equal((await client.run(name, 'x')).exitCode, 2);
    const first = await client.run(name, 'x', { version: '1.0.0' });
    assert.deepEqual({ exitCode: first.exitCode, output: Buffer.from(first.output).toString() }, { exitCode: 0, output: 'X' });
    assert.match(await client.getManifest(name, { version: '1.0.0' }), /version = "1.0.0"/);
  });

  it('reports a trap with no exit code', async () => {
    const name = await storeJob(client, 'trap', '1', await buildWat('trap'));
    const result = await client.run(name, '');
    assert.equal(result.exitCode, undefined);
    assert.equal(typeof result.trap, 'string');
  });

  it("reports a job past its time limit as a result with limit 'time', not an error", async () => {
    const name = await storeJob(client, 'spin', '1', await buildWat('spin'));
    const result = await client.run(name, '');
    assert.equal(result.limit, 'time');
    assert.equal(result.exitCode, undefined);
    assert.match(Buffer.from(result.output).toString(), /time limit/);
  });

  it('throws NotFoundError with the agent message for an unknown job, manifest or executable', async () => {
    const calls = [
      () => client.run('test.client.nothing_here', ''),
      () => client.getManifest('test.client.nothing_here'),
      () => client.getExecutable('sh.serval.loudify', '9.9.9'),
      () => client.listExecutables('test.client.nothing_here'),
    ];
    for (const call of calls) {
      const error = await errorOf(call());
      assert.ok(error instanceof NotFoundError, `${error.name}: ${error.message}`);
      assert.ok(error.message.length > 0 && !error.message.includes('\n'));
    }
    assert.equal(await client.hasManifest('test.client.nothing_here'), false);
  });

  it('throws BadRequestError naming the problem for bad TOML, a non-wasm body or a wrong integrity', async () => {
    const toml = await errorOf(client.storeManifest('name = "x\n'));
    assert.ok(toml instanceof BadRequestError);
    assert.match(toml.message, /line/i);
    await client.storeManifest(manifestText('bad', '1'));
    const notWasm = await errorOf(client.putExecutable('test.client.bad', '1', new TextEncoder().encode('not wasm')));
    assert.ok(notWasm instanceof BadRequestError, notWasm.message);
    const wrongIntegrity = await errorOf(client.putExecutable('test.client.bad', '1', LOUDIFY_WASM, { integrity: sriOf(new Uint8Array(1)) }));
    assert.ok(wrongIntegrity instanceof BadRequestError, wrongIntegrity.message);
  });

  it('deletes an executable, then the manifest with everything left', async () => {
    const name = await storeJob(client, 'doomed', '1', LOUDIFY_WASM);
    await client.putExecutable(name, '2', LOUDIFY_WASM);
    await client.deleteExecutable(name, '1');
    assert.ok((await errorOf(client.getExecutable(name, '1'))) instanceof NotFoundError);
    assert.deepEqual((await client.listExecutables(name)).map((info) => info.version), ['2']);
    await client.deleteManifest(name);
    assert.equal(await client.hasManifest(name), false);
    assert.ok(!(await client.listManifests()).includes(name));
    assert.ok((await errorOf(client.deleteManifest(name))) instanceof NotFoundError);
  });

  it('cancels a running call when its signal aborts, and the agent keeps serving', async () => {
    const name = await storeJob(client, 'spin_abort', '1', await buildWat('spin'));
    const controller = new AbortController();
    const running = client.run(name, '', { signal: controller.signal });
    await until('the job to run', async () => ((await client.listJobs()).some((job) => job.name === name) ? true : undefined));
    controller.abort();
    assert.ok(isCancellation(await errorOf(running)));
    await client.ping();
  });

  it('rejects at once as a cancellation when the signal is already aborted', async () => {
    assert.ok(isCancellation(await errorOf(client.ping({ signal: AbortSignal.abort() }))));
  });
});

describe('AgentClient and a token', () => {
  let agent: TestAgent;
  before(async () => {
    agent = await startTestAgent({ token: 'secret-token' });
  });
  after(() => agent?.stop());

  it('says a token is needed when it has none, and works with it', async () => {
    const anonymous = new AgentClient({ url: agent.url });
    await anonymous.ping(); // ping is open to all
    const error = await errorOf(anonymous.listManifests());
    assert.ok(error instanceof UnauthorizedError);
    assert.match(error.message, /token/);
    const authorised = new AgentClient({ url: agent.url, token: 'secret-token' });
    assert.ok(Array.isArray(await authorised.listManifests()));
  });
});

describe('AgentClient without a (modern) agent', () => {
  let stub: Stub | undefined;
  afterEach(() => stub?.close());

  it('says that no agent answers at a closed port', async () => {
    const closed = await startStub(() => undefined);
    await closed.close();
    const error = await errorOf(new AgentClient({ url: closed.url }).ping());
    assert.ok(error instanceof AgentUnreachableError);
    assert.match(error.message, new RegExp(`no agent answers at ${closed.url}.*serval agent`));
  });

  it('gives up after its timeout on an agent that never answers', async () => {
    stub = await startStub(() => undefined);
    const error = await errorOf(new AgentClient({ url: stub.url, timeoutMs: 100 }).status());
    assert.ok(error instanceof AgentTimeoutError);
    assert.match(error.message, /no answer within 100 ms/);
  });

  it("lists the original agent's raw storage keys as fully-qualified names", async () => {
    const keys = ['sh.serval.loudify.manifest.toml', 'sh.serval.loudify.1.wasm', 'sh.serval.loudify.2.wasm'];
    stub = await startStub((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(keys)));
    assert.deepEqual(await new AgentClient({ url: stub.url }).listManifests(), ['sh.serval.loudify']);
  });

  it('explains that an older agent cannot list versions (404 for the route, 501)', async () => {
    for (const routeStatus of [404, 501]) {
      const server = await startStub((request, response) => {
        if (request.method === 'HEAD') response.writeHead(200).end();
        else response.writeHead(routeStatus).end();
      });
      const error = await errorOf(new AgentClient({ url: server.url }).listExecutables('sh.serval.loudify'));
      await server.close();
      assert.ok(error instanceof UnsupportedByAgentError, `${routeStatus}: ${error.message}`);
      assert.match(error.message, /cannot list the versions/);
    }
  });

  it('keeps one connection open for calls in a row (keep-alive)', async () => {
    let connections = 0;
    stub = await startStub((_request, response) => response.writeHead(200).end('pong'));
    const client = new AgentClient({ url: stub.url });
    stub.server.on('connection', () => connections++);
    for (let i = 0; i < 3; i++) await client.ping();
    assert.equal(connections, 1);
  });

  it('sends a call again on a fresh connection when the kept-alive one was closed by the agent while idle', async () => {
    // The first connection answers once, then resets on the next request (a server that closed the idle socket).
    let connections = 0;
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      const first = ++connections === 1;
      let requests = 0;
      socket.on('data', () => {
        if (first && ++requests === 2) return void socket.resetAndDestroy();
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: keep-alive\r\n\r\npong');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const client = new AgentClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
      await client.ping();
      await client.ping();
      assert.equal(connections, 2);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('refuses a URL that is not one, with an example', () => {
    assert.throws(() => new AgentClient({ url: 'localhost:8100' }), /is not an agent URL/);
  });
});
