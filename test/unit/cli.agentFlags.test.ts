/** `serval agent`'s hardening flags: tokens from a file, never empty; origins checked at start. */
import * as assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';

import type { CliIo } from '../../src/cli/io';
import { runCli } from '../../src/cli/main';
import { request } from '../helpers/agent';

interface Run {
  code: Promise<number>;
  stdout: PassThrough;
  stderr: () => string;
  stop: AbortController;
}

function agentInProcess(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Run {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  stdin.end();
  let errors = '';
  stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const stop = new AbortController();
  const io: CliIo = { stdin, stdout, stderr, env, cwd };
  return { code: runCli(['agent', '--port', '0', '--storage', path.join(cwd, 'store'), ...args], io, stop.signal), stdout, stderr: () => errors, stop };
}

function listeningUrl(run: Run): Promise<string> {
  return new Promise((resolve, reject) => {
    run.stdout.once('data', (chunk: Buffer) => resolve(/listening on (\S+)/.exec(chunk.toString())?.[1] ?? ''));
    void run.code.then((code) => reject(new Error(`the agent exited with ${code}: ${run.stderr()}`)));
  });
}

describe('serval agent: token and origin flags', function () {
  this.timeout(20_000);
  let folder: string;
  const originalStderrWrite = process.stderr.write;
  beforeEach(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), 'serval-agent-flags-'));
    // The agent's JSON log goes to the real stderr; keep the test output clean.
    process.stderr.write = (() => true) as typeof process.stderr.write;
  });
  afterEach(async () => {
    process.stderr.write = originalStderrWrite;
    await rm(folder, { recursive: true, force: true });
  });

  it('refuses --token "" at start: exit 2 and a message, no agent', async () => {
    const run = agentInProcess(['--token', ''], folder);
    assert.equal(await run.code, 2);
    assert.match(run.stderr(), /--token is empty; give a token, or leave --token out/);
  });

  it('reads the token from --token-file (without its line break) and requires it', async () => {
    const file = path.join(folder, 'token');
    await writeFile(file, 's3cret\n', { mode: 0o600 });
    const run = agentInProcess(['--token-file', 'token'], folder);
    try {
      const url = await listeningUrl(run);
      assert.equal((await request(url, 'GET', '/v1/storage/manifests')).status, 401);
      assert.equal((await request(url, 'GET', '/v1/storage/manifests', { token: 's3cret' })).status, 200);
    } finally {
      run.stop.abort('SIGTERM');
      assert.equal(await run.code, 0);
    }
  });

  it('says what is wrong with a missing or empty token file, and with --token and --token-file together', async () => {
    const missing = agentInProcess(['--token-file', 'nope'], folder);
    assert.notEqual(await missing.code, 0);
    assert.match(missing.stderr(), /token file .*nope given with --token-file does not exist/);
    await writeFile(path.join(folder, 'empty'), '\n');
    const empty = agentInProcess(['--token-file', 'empty'], folder);
    assert.notEqual(await empty.code, 0);
    assert.match(empty.stderr(), /is empty; write the token into it/);
    const both = agentInProcess(['--token', 'x', '--token-file', 'empty'], folder);
    assert.equal(await both.code, 2);
    assert.match(both.stderr(), /--token or --token-file, not both/);
  });

  it('checks --allow-origin values at start', async () => {
    for (const bad of ['*', 'localhost:3000', 'http://localhost:3000/app']) {
      const run = agentInProcess(['--allow-origin', bad], folder);
      assert.equal(await run.code, 2, bad);
      assert.match(run.stderr(), /--allow-origin: .*is not an origin/, bad);
    }
  });

  it('lets pages of the origins given with --allow-origin in, and no others', async () => {
    const run = agentInProcess(['--allow-origin', 'http://localhost:3000', '--allow-origin', 'https://tools.example'], folder);
    try {
      const url = await listeningUrl(run);
      for (const origin of ['http://localhost:3000', 'https://tools.example']) {
        assert.equal((await request(url, 'GET', '/monitor/ping', { headers: { origin } })).headers['access-control-allow-origin'], origin);
      }
      assert.equal((await request(url, 'GET', '/monitor/ping', { headers: { origin: 'http://localhost:3001' } })).status, 403);
    } finally {
      run.stop.abort('SIGTERM');
      await run.code;
    }
  });

  it('takes --workers-only (every job in a worker thread) and says so in its help', async () => {
    const run = agentInProcess(['--workers-only'], folder);
    try {
      const url = await listeningUrl(run);
      assert.equal((await request(url, 'GET', '/monitor/ping')).status, 200);
    } finally {
      run.stop.abort('SIGTERM');
      await run.code;
    }
    const help = agentInProcess(['--help'], folder);
    let text = '';
    help.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    assert.equal(await help.code, 0);
    assert.match(text, /--workers-only +run every job in a worker thread/);
  });
});
