#!/usr/bin/env node
// `npm start`: opens a real VS Code with this extension loaded in development mode and the samples/
// folder as the workspace. Uses $VSCODE_EXECUTABLE (an installed VS Code's executable) when set,
// else the `code` on PATH, else desktop VS Code downloaded by @vscode/test-electron (cached in
// .vscode-test/ for the next time).
// `npm start` builds dist/ first (see package.json).
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const samples = path.join(repoRoot, 'samples');
const args = [`--extensionDevelopmentPath=${repoRoot}`, samples];

function codeOnPath() {
  const probe = spawnSync(process.platform === 'win32' ? 'where' : 'which', ['code'], { encoding: 'utf8' });
  return probe.status === 0 ? probe.stdout.split(/\r?\n/)[0].trim() : undefined;
}

async function downloadedCode() {
  const { downloadAndUnzipVSCode } = await import('@vscode/test-electron');
  console.log('No `code` on PATH: using desktop VS Code from @vscode/test-electron (downloaded once into .vscode-test/).');
  return downloadAndUnzipVSCode({ cachePath: path.join(repoRoot, '.vscode-test') });
}

function launch(executable, launchArgs) {
  console.log(`Opening ${samples} in ${executable} with the extension from ${repoRoot}`);
  const child = spawn(executable, launchArgs, { stdio: 'inherit', shell: process.platform === 'win32' });
  child.on('error', (error) => {
    console.error(`Could not start VS Code (${executable}): ${error.message}`);
    process.exitCode = 1;
  });
  child.on('exit', (code) => (process.exitCode = code ?? 0));
}

try {
  const installed = process.env.VSCODE_EXECUTABLE || codeOnPath();
  if (installed) {
    launch(installed, args);
  } else {
    // A separate profile keeps the downloaded VS Code away from the user's own settings.
    const userData = path.join(repoRoot, '.vscode-test', 'user-data');
    launch(await downloadedCode(), [...args, `--user-data-dir=${userData}`, '--skip-welcome', '--skip-release-notes']);
  }
} catch (error) {
  console.error(`npm start failed: ${error instanceof Error ? error.message : error}`);
  console.error('Without internet, point VSCODE_EXECUTABLE at an installed VS Code, or put `code` on PATH (see CONTRIBUTING.md).');
  process.exitCode = 1;
}
