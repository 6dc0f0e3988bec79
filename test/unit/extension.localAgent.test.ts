/**
 * The embedded agent's process wrapper, with real processes: the bundled CLI (dist/cli.js, built by
 * `node esbuild.mjs`) for the happy path, tiny scripts for an agent that crashes or never listens.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import type { ParsedLogLine } from '../../src/extension/agent/agentLogLine';
import { LocalAgentProcess, LocalAgentStartError } from '../../src/extension/agent/localAgentProcess';
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
