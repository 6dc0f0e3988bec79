import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import * as path from 'node:path';
import { createInterface } from 'node:readline';

import { sriOf } from '../../src/agent/storage';
import { makeStorageDir, manifestText, request, startTestAgent, storeJob, type TestAgent } from '../helpers/agent';
import { buildWat } from '../helpers/wat';

const CHILD_SCRIPT = path.join(__dirname, '..', 'helpers', 'agentProcess.js');
const MANIFESTS = '/v1/storage/manifests';

async function startChildAgent(storageDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CHILD_SCRIPT, storageDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const [line] = (await Promise.race([
    once(lines, 'line'),
    once(child, 'exit').then(([code]) => Promise.reject(new Error(`the agent process exited with ${String(code)}`))),
  ])) as [string];
  const match = /^listening on (\S+)$/.exec(line);
  if (!match) throw new Error(`unexpected first line from the agent process: ${line}`);
  return { child, url: match[1] };
}

/** Starts a chunked upload, sends `firstBytes` of it, and leaves it open (the "slow client"). */
async function startSlowUpload(url: string, method: string, urlPath: string, firstBytes: Buffer): Promise<http.ClientRequest> {
  const req = http.request(new URL(urlPath, url), { method, agent: false, headers: { 'transfer-encoding': 'chunked' } });
  req.on('error', () => undefined);
  await new Promise<void>((resolve) => req.write(firstBytes, () => resolve()));
  return req;
}

describe('agent: a SIGKILL mid-upload', () => {
  let storageDir: string;
  let child: ChildProcess | undefined;
  let fresh: TestAgent | undefined;

  beforeEach(async () => {
    storageDir = await makeStorageDir();
  });

  afterEach(async () => {
    child?.kill('SIGKILL');
    await fresh?.stop();
    await fs.rm(storageDir, { recursive: true, force: true });
  });

  it('leaves no half entry, and every earlier item intact', async () => {
    const hello = await buildWat('hello');
    const uppercase = await buildWat('uppercase');
    const started = await startChildAgent(storageDir);
    child = started.child;
    await storeJob(started, 'hello', '1', hello);
    await storeJob(started, 'upper', '1', uppercase);
    // Version 2's manifest is stored (201); its executable never arrives whole.
    assert.equal((await request(started.url, 'POST', MANIFESTS, { body: manifestText('hello', '2') })).status, 201);

    // A new version's executable and a new manifest, both half sent when the process dies.
    const big = Buffer.alloc(2 * 1024 * 1024);
    Buffer.from(uppercase).copy(big);
    const uploads = [
      await startSlowUpload(started.url, 'PUT', `${MANIFESTS}/test.serval.hello/executable/2`, big.subarray(0, 1024 * 1024)),
      await startSlowUpload(started.url, 'POST', MANIFESTS, Buffer.from(manifestText('half', '1').slice(0, 30))),
    ];
    // The agent has answered a request sent after the partial bodies: it has been reading them.
    assert.equal((await request(started.url, 'GET', '/monitor/ping')).text, 'pong');
    child.kill('SIGKILL');
    await once(child, 'exit');
    for (const upload of uploads) upload.destroy();

    fresh = await startTestAgent({ storageDir });
    assert.deepEqual(JSON.parse((await request(fresh.url, 'GET', MANIFESTS)).text), ['test.serval.hello', 'test.serval.upper']);
    const versions = JSON.parse((await request(fresh.url, 'GET', `${MANIFESTS}/test.serval.hello/executables`)).text) as Array<{
      version: string;
      integrity: string;
    }>;
    assert.deepEqual(
      versions.map((v) => [v.version, v.integrity]),
      [['1', sriOf(hello)]],
    );
    assert.deepEqual((await request(fresh.url, 'GET', `${MANIFESTS}/test.serval.hello`)).body, Buffer.from(manifestText('hello', '1')));
    assert.deepEqual((await request(fresh.url, 'GET', `${MANIFESTS}/test.serval.upper/executable/1`)).body, Buffer.from(uppercase));
    assert.equal((await request(fresh.url, 'POST', '/v1/jobs/test.serval.upper/run', { body: 'still here' })).text, 'STILL HERE');
    // Atomic publish: version 2 never got its executable, so version 1 stays the default.
    assert.equal((await request(fresh.url, 'POST', '/v1/jobs/test.serval.hello/run')).text, 'hello, world\n');
    assert.deepEqual((await request(fresh.url, 'GET', `${MANIFESTS}/test.serval.hello?version=2`)).body, Buffer.from(manifestText('hello', '2')));
    assert.deepEqual(await fs.readdir(path.join(storageDir, 'tmp')).catch(() => []), [], 'the half upload left nothing behind');
  });
});
