/**
 * Launches the integration suite in a real VS Code: `npm run test:integration`.
 *
 * The samples are copied to a temporary workspace so tests never modify the repository, and the
 * profile (user data) is temporary too, so the local agent starts from an empty store every run.
 * VSCODE_EXECUTABLE selects a VS Code (on this machine: ../shared/vscode-runtime/code-via-code-server);
 * unset, @vscode/test-electron downloads desktop VS Code.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { runTests } from '@vscode/test-electron';

const repoRoot = path.resolve(__dirname, '../../..');

function prepareWorkspace(): string {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'serval-it-workspace-'));
  fs.cpSync(path.join(repoRoot, 'samples'), workspace, { recursive: true, preserveTimestamps: true });
  // A fresh clone gives files checkout-order times; make every built .wasm newer than its sources
  // so that publishing does not (rightly) stop to warn about a stale build.
  const now = new Date();
  for (const entry of fs.readdirSync(workspace, { recursive: true, encoding: 'utf8' })) {
    if (entry.endsWith('.wasm')) fs.utimesSync(path.join(workspace, entry), now, now);
  }
  return workspace;
}

async function main(): Promise<void> {
  const workspace = prepareWorkspace();
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'serval-it-profile-'));
  try {
    await runTests({
      vscodeExecutablePath: process.env.VSCODE_EXECUTABLE || undefined,
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: path.join(repoRoot, 'out/test/integration/suite/index.js'),
      launchArgs: [workspace, '--disable-extensions', `--user-data-dir=${userDataDir}`],
      extensionTestsEnv: { SERVAL_TEST_WORKSPACE: workspace },
    });
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error('Integration tests failed:', error instanceof Error ? error.message : error);
  process.exit(1);
});
