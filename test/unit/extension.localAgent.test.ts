/**
 * The embedded agent's process wrapper, with real processes: the bundled CLI (dist/cli.js, built by
 * `node esbuild.mjs`) for the happy path, tiny scripts for an agent that crashes or never listens.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import type { ParsedLogLine } from '../../src/extension/agent/agentLogLine';
import { LocalAgentProcess, LocalAgentStartError, type AgentExit } from '../../src/extension/agent/localAgentProcess';
import { findStaleBuild } from '../../src/extension/publish/staleness';

const CLI = path.resolve(__dirname, '../../../dist/cli.js');

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'serval-ext-unit-'));
}

function options(cliPath: string, logs: ParsedLogLine[], startTimeoutMs?: number) {
  return {
    cliPath,
    storageDir: tempDir(),
    token: 'unit-test-token',
    jobTimeoutMs: 2000,
    jobMemoryMb: 64,
    startTimeoutMs,
    onLog: (line: ParsedLogLine) => logs.push(line),
  };
}

describe('LocalAgentProcess', function () {
  this.timeout(30_000);

  it('starts the real agent, which answers with the token, and stops it with SIGTERM', async () => {
    assert.ok(fs.existsSync(CLI), `${CLI} is missing: run \`node esbuild.mjs\` first`);
    const logs: ParsedLogLine[] = [];
    const agent = await LocalAgentProcess.start(options(CLI, logs));
    let diedUnexpectedly = false;
    agent.onUnexpectedExit(() => (diedUnexpectedly = true));
    try {
      assert.match(agent.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const ping = await fetch(`${agent.url}/monitor/ping`);
      assert.equal(await ping.text(), 'pong');
      const refused = await fetch(`${agent.url}/v1/storage/manifests`);
      assert.equal(refused.status, 401, 'the agent requires the token');
      const allowed = await fetch(`${agent.url}/v1/storage/manifests`, { headers: { authorization: 'Bearer unit-test-token' } });
      assert.deepEqual(await allowed.json(), []);
    } finally {
      await agent.stop();
    }
    assert.equal(agent.isRunning, false);
    assert.equal(diedUnexpectedly, false, 'a requested stop is not reported as a death');
    assert.ok(logs.some((line) => line.level === 'info' && /listening/.test(line.message)), 'its log is forwarded');
  });

  it('reports an agent that exits at start with the tail of its log', async () => {
    const script = path.join(tempDir(), 'crash.js');
    fs.writeFileSync(script, `console.error(JSON.stringify({ level: 'error', msg: 'storage is not writable' })); process.exit(3);`);
    const logs: ParsedLogLine[] = [];
    await assert.rejects(LocalAgentProcess.start(options(script, logs)), (error: Error) => {
      assert.ok(error instanceof LocalAgentStartError);
      assert.match(error.message, /did not start: it exited \(exit code 3\)/);
      assert.match(error.message, /storage is not writable/);
      return true;
    });
    assert.deepEqual(logs, [{ level: 'error', message: 'storage is not writable' }]);
  });

  it('gives up on an agent that never reports listening, and kills it', async () => {
    const script = path.join(tempDir(), 'silent.js');
    fs.writeFileSync(script, `setInterval(() => {}, 1000);`);
    await assert.rejects(LocalAgentProcess.start(options(script, [], 300)), /did not report listening within 300 ms/);
  });

  it('tells when the agent dies after it started', async () => {
    const script = path.join(tempDir(), 'dies.js');
    fs.writeFileSync(script, `console.log('listening on http://127.0.0.1:1'); setTimeout(() => process.exit(7), 50);`);
    const agent = await LocalAgentProcess.start(options(script, []));
    const exit = await new Promise((resolve) => agent.onUnexpectedExit(resolve));
    assert.deepEqual(exit, { code: 7, signal: null });
    assert.equal(agent.isRunning, false);
  });
});

describe('LocalAgentProcess: every window shares one local agent per storage folder', function () {
  this.timeout(60_000);
  const started: LocalAgentProcess[] = [];

  afterEach(async () => {
    for (const agent of started.splice(0)) if (agent.owned) await agent.stop();
  });

  function windowOptions(storageDir: string, token: string) {
    return { ...options(CLI, []), storageDir, token };
  }

  async function startWindow(storageDir: string, token: string): Promise<LocalAgentProcess> {
    const agent = await LocalAgentProcess.startOrAttach(windowOptions(storageDir, token));
    started.push(agent);
    return agent;
  }

  async function names(agent: LocalAgentProcess): Promise<unknown> {
    const answer = await fetch(`${agent.url}/v1/storage/manifests`, { headers: { authorization: `Bearer ${agent.token}` } });
    assert.equal(answer.status, 200);
    return answer.json();
  }

  it('a second window uses the first window\'s agent; once the first closes, the next use starts one on the same catalogue', async () => {
    const storageDir = tempDir();
    const first = await startWindow(storageDir, 'token-of-window-1');
    const second = await startWindow(storageDir, 'token-of-window-2');
    assert.equal(first.owned, true);
    assert.equal(second.owned, false, 'the second window attached');
    assert.equal(second.url, first.url);
    assert.equal(second.token, 'token-of-window-1', 'with the running agent\'s token, read from its 0600 lock file');
    assert.equal(fs.statSync(path.join(storageDir, 'agent.lock')).mode & 0o777, 0o600);

    const manifest = 'name = "shared"\nnamespace = "test.serval"\nversion = "1"\nbinary = "x.wasm"\ndescription = "d"\n';
    const stored = await fetch(`${second.url}/v1/storage/manifests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${second.token}` },
      body: manifest,
    });
    assert.equal(stored.status, 201);
    assert.deepEqual(await names(first), ['test.serval.shared'], 'one catalogue');

    // The second window closing leaves the agent to the first.
    await second.release();
    assert.equal(first.isRunning, true);
    assert.deepEqual(await names(first), ['test.serval.shared']);

    // The first window closing stops its agent; a window still open sees it go as a hand-over, not a crash.
    const third = await startWindow(storageDir, 'token-of-window-3');
    assert.equal(third.owned, false);
    const gone = new Promise<AgentExit>((resolve) => third.onUnexpectedExit(resolve));
    await first.stop();
    assert.deepEqual(await gone, { code: null, signal: null, ownerClosed: true });
    const next = await startWindow(storageDir, 'token-of-window-3');
    assert.equal(next.owned, true);
    assert.deepEqual(await names(next), ['test.serval.shared'], 'nothing lost');
  });

  it('two windows starting at once end up on one agent', async () => {
    const storageDir = tempDir();
    const [a, b] = await Promise.all([startWindow(storageDir, 'token-a'), startWindow(storageDir, 'token-b')]);
    assert.equal(a.url, b.url);
    assert.deepEqual([a.owned, b.owned].sort(), [false, true]);
    assert.deepEqual(await names(a), []);
    assert.deepEqual(await names(b), []);
  });
});

describe('stale build detection', () => {
  function job(files: Record<string, number>): string {
    const folder = tempDir();
    for (const [name, secondsAgo] of Object.entries(files)) {
      const file = path.join(folder, name);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, name);
      const time = new Date(Date.now() - secondsAgo * 1000);
      fs.utimesSync(file, time, time);
    }
    return folder;
  }

  it('accepts a binary newer than the manifest and the sources', async () => {
    const folder = job({ 'manifest.toml': 60, 'src/main.rs': 50, 'job.wasm': 10, 'README.md': 1 });
    assert.equal(await findStaleBuild(path.join(folder, 'manifest.toml'), path.join(folder, 'job.wasm')), undefined);
  });

  it('names the newest source that is newer than the binary', async () => {
    const folder = job({ 'manifest.toml': 60, 'job.wasm': 30, 'job.c': 20, 'src/util.h': 5 });
    const stale = await findStaleBuild(path.join(folder, 'manifest.toml'), path.join(folder, 'job.wasm'));
    assert.equal(stale?.newerFile, path.join(folder, 'src/util.h'));
  });

  it('never counts the manifest: a new version, or a save without a change, needs no rebuild', async () => {
    const folder = job({ 'job.c': 60, 'job.wasm': 30, 'manifest.toml': 0 });
    assert.equal(await findStaleBuild(path.join(folder, 'manifest.toml'), path.join(folder, 'job.wasm')), undefined);
  });

  it('does not call a source newer when it was written with the binary (cp -r, a checkout)', async () => {
    const folder = job({ 'job.wasm': 10.5, 'job.c': 10, 'manifest.toml': 10 });
    assert.equal(await findStaleBuild(path.join(folder, 'manifest.toml'), path.join(folder, 'job.wasm')), undefined);
  });

  it('ignores build folders such as target/', async () => {
    const folder = job({ 'manifest.toml': 60, 'job.wasm': 30, 'target/gen.rs': 1 });
    assert.equal(await findStaleBuild(path.join(folder, 'manifest.toml'), path.join(folder, 'job.wasm')), undefined);
  });
});
