#!/usr/bin/env node
// Takes docs/tree-and-output.png in a real VS Code (../shared/vscode-runtime/cs-run.mjs --mode ui):
// the samples are copied to a temporary workspace, and driver.js (passed as the extension tests
// module) publishes them and runs loudify through the Serval commands before the screenshot.
// Usage: node esbuild.mjs && node test/integration/screenshot/take.mjs [OUT.png]
// docs/test-explorer-diff.png: DRIVER=testExplorerDriver.js COMMAND='Test: Go to Next Test Failure' \
//   node test/integration/screenshot/take.mjs docs/test-explorer-diff.png
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');
const csRun = process.env.CS_RUN ?? path.resolve(repoRoot, '../shared/vscode-runtime/cs-run.mjs');
const out = path.resolve(process.argv[2] ?? path.join(repoRoot, 'docs/tree-and-output.png'));

const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'serval-screenshot-'));
// Keep the repository's times: a fresh copy's times could be a fraction of a millisecond after the
// `now` below, making a build look stale (publish would then stop at its modal warning).
fs.cpSync(path.join(repoRoot, 'samples'), workspace, { recursive: true, preserveTimestamps: true });
const now = new Date();
for (const entry of fs.readdirSync(workspace, { recursive: true, encoding: 'utf8' })) {
  // Fresh copies have arbitrary times: keep the builds newer than their sources (no stale warning).
  if (entry.endsWith('.wasm')) fs.utimesSync(path.join(workspace, entry), now, now);
}

const result = spawnSync(
  process.execPath,
  [csRun, '--mode', 'ui', '--extensionDevelopmentPath', repoRoot, '--extensionTestsPath', path.join(here, process.env.DRIVER ?? 'driver.js'),
    workspace, '--settle', process.env.SETTLE_MS ?? '12000', '--screenshot', out,
    ...(process.env.COMMAND ? ['--command', process.env.COMMAND, '--after-command-wait', '3000'] : [])],
  { stdio: 'inherit' },
);
fs.rmSync(workspace, { recursive: true, force: true });
process.exit(result.status ?? 1);
