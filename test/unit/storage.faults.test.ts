/**
 * The local store under faults, through a real agent over HTTP: a full ext4 volume, no inodes left,
 * a store remounted read-only, a damaged manifest, a publish under load, two agents on one folder.
 * The ext4 cases need root and a loop device and skip, saying so, where there are none.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';

import { contentFile, sriOf } from '../../src/agent/storage';
import { makeStorageDir, manifestText, request, startTestAgent, storeJob, waitFor, type TestAgent } from '../helpers/agent';
import { startAgentProcess } from '../helpers/cluster';
import { mountExt4, paddedModule, type Ext4Volume } from '../helpers/ext4';
import { buildWat } from '../helpers/wat';

const MANIFESTS = '/v1/storage/manifests';
const HELLO = `${MANIFESTS}/test.serval.hello`;
const CLI = path.resolve(__dirname, '../../../dist/cli.js');

/** Every file under `dir` (relative paths), for "nothing left behind" checks. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile()).map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)));
}

async function contentFiles(dir: string): Promise<string[]> {
  return (await filesUnder(path.join(dir, 'content-v2'))).sort();
}

describe('local storage under faults', function () {
  this.timeout(120_000);
  let hello: Uint8Array;

  before(async () => {
    hello = await buildWat('hello');
  });

  describe('on a small ext4 volume (root, loop device)', () => {
    let volume: Ext4Volume | undefined;
    let agent: TestAgent | undefined;

    afterEach(async () => {
      await agent?.stop().catch(() => undefined);
      agent = undefined;
      await volume?.dispose();
      volume = undefined;
    });

    async function mountOrSkip(context: Mocha.Context, sizeMb: number, inodes?: number): Promise<string> {
      const mounted = await mountExt4(sizeMb, inodes);
      if (typeof mounted === 'string') {
        console.log(`      (skipped: ${mounted})`);
        context.skip();
      }
      volume = mounted as Ext4Volume;
      return path.join(volume.dir, 'store');
    }

    /** Publishes distinct versions until the store refuses one; what was acknowledged, and the refusal. */
    async function fillUp(target: TestAgent, size: number): Promise<{ acknowledged: Map<string, Buffer>; refusal: { status: number; text: string } }> {
      const acknowledged = new Map<string, Buffer>();
      for (let i = 2; i < 10_000; i++) {
        const version = String(i);
        const bytes = paddedModule(hello, size, i % 251);
        const put = await request(target.url, 'PUT', `${HELLO}/executable/${version}`, { body: bytes });
        if (put.status === 201) {
          assert.equal(put.text, sriOf(bytes));
          acknowledged.set(version, bytes);
          continue;
        }
        return { acknowledged, refusal: { status: put.status, text: put.text } };
      }
      throw new Error('the volume never filled up');
    }

    async function assertAcknowledgedSurvive(dir: string, acknowledged: Map<string, Buffer>): Promise<void> {
      await agent?.stop();
      agent = await startTestAgent({ storageDir: dir });
      const listed = JSON.parse((await request(agent.url, 'GET', `${HELLO}/executables`)).text) as Array<{ version: string; integrity: string }>;
      assert.deepEqual(
        listed.map((v) => v.version).sort(),
        [...acknowledged.keys()].sort(),
        'exactly the acknowledged versions are listed after a restart',
      );
      for (const [version, bytes] of acknowledged) {
        const got = await request(agent.url, 'GET', `${HELLO}/executable/${version}`);
        assert.equal(got.status, 200, `version ${version}: ${got.text}`);
        assert.deepEqual(got.body, bytes);
      }
      // No orphan: one content file per distinct blob listed (the manifest and the executables).
      assert.equal((await contentFiles(dir)).length, acknowledged.size + 1);
      assert.deepEqual(await filesUnder(path.join(dir, 'tmp')), []);
      assert.deepEqual(JSON.parse((await request(agent.url, 'GET', '/monitor/status')).text).storage.damaged, []);
    }

    it('full disk: 507 naming the cause; every 201 survives a restart; nothing half stored', async function () {
      const dir = await mountOrSkip(this, 8);
      agent = await startTestAgent({ storageDir: dir });
      await storeJob(agent, 'hello', '1', hello);
      const { acknowledged, refusal } = await fillUp(agent, 300 * 1024);
      acknowledged.set('1', Buffer.from(hello));
      assert.equal(refusal.status, 507, refusal.text);
      assert.match(refusal.text, /no space \(or no inodes\) left \(ENOSPC\)/);
      assert.equal(refusal.text.trim().split('\n').length, 1);
      // The agent stays up and serves what it has.
      assert.equal((await request(agent.url, 'POST', '/v1/jobs/test.serval.hello/run?version=1')).text, 'hello, world\n');
      await assertAcknowledgedSurvive(dir, acknowledged);
    });

    it('full disk under a slowly streamed upload: 507 naming the cause, nothing staged, the agent stays up', async function () {
      const dir = await mountOrSkip(this, 8);
      // A process of its own, as users run it: mocha would absorb a failure the agent left unhandled.
      const running = await startAgentProcess(dir, {});
      try {
        await fillWhileStreaming(running.url, dir);
        assert.equal(running.child.exitCode, null, `the agent stopped: ${running.stderr()}`);
      } finally {
        await running.stop();
      }
      await assertAcknowledgedSurvive(dir, new Map([['1', Buffer.from(hello)]]));
    });

    async function fillWhileStreaming(url: string, dir: string): Promise<void> {
      await storeJob({ url }, 'hello', '1', hello);
      const MiB = 1024 * 1024;
      const body = paddedModule(hello, 12 * MiB, 7);
      const stagedBytes = async (): Promise<number> => {
        const files = await filesUnder(path.join(dir, 'tmp'));
        const sizes = await Promise.all(files.map((file) => fs.stat(path.join(dir, 'tmp', file)).then((stat) => stat.size, () => 0)));
        return sizes.reduce((sum, size) => sum + size, 0);
      };
      const freeBytes = async (): Promise<number> => {
        const stats = await fs.statfs(dir);
        return stats.bavail * stats.bsize;
      };
      const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
      socket.on('error', () => undefined);
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      const closed = once(socket, 'close');
      socket.write(`PUT ${HELLO}/executable/2 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.byteLength}\r\n\r\n`);
      // A slow client: the disk fills while the agent waits for the next bytes, with no write awaited.
      for (let sent = 0; sent < body.byteLength && answer === ''; ) {
        socket.write(body.subarray(sent, sent + MiB));
        sent += MiB;
        await waitFor('the bytes to be staged, or the disk to be full', async () => answer !== '' || (await stagedBytes()) >= sent - MiB || (await freeBytes()) < MiB);
      }
      await waitFor('the answer', () => answer.includes('\r\n\r\n'));
      socket.destroy();
      await closed;
      assert.match(answer, /^HTTP\/1\.1 507 /);
      assert.match(answer, /no space \(or no inodes\) left \(ENOSPC\)/);
      await waitFor('the staged upload to be removed', async () => (await filesUnder(path.join(dir, 'tmp'))).length === 0);
      assert.equal((await request(url, 'POST', '/v1/jobs/test.serval.hello/run?version=1')).text, 'hello, world\n');
    }

    it('no inodes left: 507 naming the cause; every 201 survives a restart', async function () {
      const dir = await mountOrSkip(this, 16, 32);
      agent = await startTestAgent({ storageDir: dir });
      await storeJob(agent, 'hello', '1', hello);
      const { acknowledged, refusal } = await fillUp(agent, 2048);
      acknowledged.set('1', Buffer.from(hello));
      assert.equal(refusal.status, 507, refusal.text);
      assert.match(refusal.text, /ENOSPC/);
      await assertAcknowledgedSurvive(dir, acknowledged);
    });

    it('read-only store: a delete or publish answers 507 and the job stays listed and runnable', async function () {
      const dir = await mountOrSkip(this, 8);
      agent = await startTestAgent({ storageDir: dir });
      await storeJob(agent, 'hello', '1', hello);
      await volume!.remount('ro');

      const deleted = await request(agent.url, 'DELETE', `${HELLO}/executable/1`);
      assert.equal(deleted.status, 507, deleted.text);
      assert.match(deleted.text, /read-only file system \(EROFS\)/);
      assert.equal((await request(agent.url, 'DELETE', HELLO)).status, 507);
      assert.equal((await request(agent.url, 'POST', MANIFESTS, { body: manifestText('other', '1') })).status, 507);
      assert.deepEqual(JSON.parse((await request(agent.url, 'GET', MANIFESTS)).text), ['test.serval.hello']);
      assert.equal((await request(agent.url, 'POST', '/v1/jobs/test.serval.hello/run')).text, 'hello, world\n');

      await volume!.remount('rw');
      await agent.stop();
      agent = await startTestAgent({ storageDir: dir });
      assert.equal((await request(agent.url, 'POST', '/v1/jobs/test.serval.hello/run')).text, 'hello, world\n');
      assert.deepEqual(JSON.parse((await request(agent.url, 'GET', MANIFESTS)).text), ['test.serval.hello']);
    });

    it('an agent started on a read-only folder refuses to start, naming the cause', async function () {
      const dir = await mountOrSkip(this, 8);
      await fs.mkdir(dir);
      await volume!.remount('ro');
      await assert.rejects(startTestAgent({ storageDir: dir }), /read-only file system \(EROFS\)/);
    });
  });

  describe('on a temp folder', () => {
    let agent: TestAgent | undefined;
    let dir: string;

    beforeEach(async () => {
      dir = await makeStorageDir();
    });

    afterEach(async () => {
      await agent?.stop();
      agent = undefined;
      await fs.rm(dir, { recursive: true, force: true });
    });

    it('a damaged manifest never deletes executables; storing it again brings the job back runnable', async () => {
      agent = await startTestAgent({ storageDir: dir });
      await storeJob(agent, 'hello', '1', hello);
      await agent.stop();
      const manifest = contentFile(dir, sriOf(Buffer.from(manifestText('hello', '1'))));
      const bytes = await fs.readFile(manifest);
      bytes[0] ^= 0xff;
      await fs.chmod(manifest, 0o644);
      await fs.writeFile(manifest, bytes);

      agent = await startTestAgent({ storageDir: dir });
      assert.deepEqual(JSON.parse((await request(agent.url, 'GET', MANIFESTS)).text), []);
      const status = JSON.parse((await request(agent.url, 'GET', '/monitor/status')).text);
      assert.deepEqual(
        status.storage.damaged.map((d: { name: string; kind: string }) => [d.name, d.kind]),
        [['test.serval.hello', 'manifest']],
      );
      assert.ok(agent.logs.some((l) => l.level === 'error' && /damaged/.test(l.message)), 'the log says so');
      assert.ok(agent.logs.every((l) => !/removed/.test(l.message)), 'nothing was removed');
      await fs.access(contentFile(dir, sriOf(hello)));

      assert.equal((await request(agent.url, 'POST', MANIFESTS, { body: manifestText('hello', '1') })).status, 201);
      assert.equal((await request(agent.url, 'POST', '/v1/jobs/test.serval.hello/run')).text, 'hello, world\n');
      assert.deepEqual(JSON.parse((await request(agent.url, 'GET', '/monitor/status')).text).storage.damaged, []);
    });

    it('default-version runs never 404 while a version is published, slowly, or aborted', async () => {
      agent = await startTestAgent({ storageDir: dir });
      const uppercase = await buildWat('uppercase');
      await storeJob(agent, 'hello', '1', hello);
      let publishing = true;
      const answers: number[] = [];
      const runner = (async () => {
        while (publishing) answers.push((await request(agent!.url, 'POST', '/v1/jobs/test.serval.hello/run', { body: 'x' })).status);
      })();

      await waitForRuns(answers, 5);
      assert.equal((await request(agent.url, 'POST', MANIFESTS, { body: manifestText('hello', '2') })).status, 201);
      await waitForRuns(answers, answers.length + 5);
      // Version 2's executable, sent slowly in chunks, then version 3's, aborted half way.
      const big = paddedModule(uppercase, 4 * 1024 * 1024, 1);
      assert.equal((await slowUpload(agent.url, `${HELLO}/executable/2`, big, answers)).status, 201);
      await request(agent.url, 'POST', MANIFESTS, { body: manifestText('hello', '3') });
      await slowUpload(agent.url, `${HELLO}/executable/3`, big, answers, { abortAfter: big.byteLength / 2 });
      await waitForRuns(answers, answers.length + 5);
      publishing = false;
      await runner;

      assert.ok(answers.length > 20, `runs made: ${answers.length}`);
      assert.deepEqual(answers.filter((status) => status !== 200), [], 'every default run succeeded');
      assert.equal((await request(agent.url, 'POST', '/v1/jobs/test.serval.hello/run', { body: 'abc' })).text, 'ABC', 'version 2 is the default now');
    });

    it('two agents on one folder: the second refuses, naming the first; the first loses nothing', async () => {
      agent = await startTestAgent({ storageDir: dir });
      await storeJob(agent, 'hello', '1', hello);
      await assert.rejects(startTestAgent({ storageDir: dir }), (error: Error) => {
        assert.match(error.message, new RegExp(`in use by another Serval agent \\(pid ${process.pid}, listening on ${agent!.url.replace(/\./g, '\\.')}\\)`));
        return true;
      });
      const lock = await fs.stat(path.join(dir, 'agent.lock'));
      assert.equal(lock.mode & 0o777, 0o600, 'the lock (with its token) is readable by the user only');
      assert.equal((await request(agent.url, 'POST', '/v1/jobs/test.serval.hello/run')).text, 'hello, world\n');
    });

    it('serval agent on a folder in use exits 1 with one line naming the running agent, never "listening"', async function () {
      try {
        await fs.access(CLI);
      } catch {
        this.skip(); // built by `node esbuild.mjs`
      }
      agent = await startTestAgent({ storageDir: dir });
      const second = await runCli(['agent', '--port', '0', '--storage', dir]);
      assert.equal(second.code, 1);
      assert.equal(second.stdout, '');
      assert.match(second.stderr, new RegExp(`^serval: the storage folder .* is in use by another Serval agent .*listening on ${agent.url.replace(/\./g, '\\.')}`));
      const unusable = await runCli(['agent', '--port', '0', '--storage', '/proc/nope']);
      assert.equal(unusable.code, 1);
      assert.equal(unusable.stdout, '');
      assert.match(unusable.stderr, /^serval: cannot use \/proc\/nope as the storage folder: .*--storage\n$/);
    });
  });
});

async function waitForRuns(answers: number[], count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (answers.length < count) {
    if (Date.now() > deadline) throw new Error(`only ${answers.length} runs in 30 s`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** PUTs `body` in 64 KiB chunks, letting a few runs happen between chunks; optionally aborts. */
async function slowUpload(
  url: string,
  urlPath: string,
  body: Buffer,
  answers: number[],
  { abortAfter }: { abortAfter?: number } = {},
): Promise<{ status: number }> {
  const req = http.request(new URL(urlPath, url), { method: 'PUT', agent: false, headers: { 'content-length': body.byteLength } });
  const answered = once(req, 'response').then(([res]) => {
    const response = res as http.IncomingMessage;
    response.resume();
    return { status: response.statusCode ?? 0 };
  });
  req.on('error', () => undefined);
  const CHUNK = 64 * 1024;
  for (let offset = 0; offset < body.byteLength; offset += CHUNK) {
    if (abortAfter !== undefined && offset >= abortAfter) {
      req.destroy();
      return { status: 0 };
    }
    await new Promise<void>((resolve) => req.write(body.subarray(offset, offset + CHUNK), () => resolve()));
    if (offset % (16 * CHUNK) === 0) await waitForRuns(answers, answers.length + 1);
  }
  req.end();
  return answered;
}

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return once(child, 'exit').then(([code]) => ({ code: code as number | null, stdout, stderr }));
}
