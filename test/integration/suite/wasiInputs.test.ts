/**
 * A job's arguments, environment and files from the editor: Publish uploads the manifest's files
 * folder, and serval.runOnActiveFile takes args and env in its argument (as keybindings.json does).
 */
import * as assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';

import type { RunRecord } from '../../../src/extension/hooks';
import type { PublishResult } from '../../../src/extension/publish/publishJob';

const REPO = path.resolve(__dirname, '../../../..');
const JOB = 'test.editor.files';

async function runOnUntitled(argument: Record<string, unknown>): Promise<RunRecord> {
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument({ content: 'input' }));
  const record = await vscode.commands.executeCommand<RunRecord | undefined>('serval.runOnActiveFile', argument);
  assert.ok(record, 'the run gave no result: see the Serval log');
  return record;
}

describe('arguments, environment and files from the editor', function () {
  this.timeout(60_000);
  let folder: string;

  before(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), 'serval-editor-files-'));
    await copyFile(path.join(REPO, 'test/fixtures/wasi-programs/files.wasm'), path.join(folder, 'files.wasm'));
    await writeFile(
      path.join(folder, 'manifest.toml'),
      `name = "files"\nnamespace = "test.editor"\nversion = "1.0.0"\nbinary = "files.wasm"\ndescription = "Shows its argv, environment and files."\nfiles = "data"\n[env]\nFROM = "manifest"\n`,
    );
    await mkdir(path.join(folder, 'data', 'sub'), { recursive: true });
    await writeFile(path.join(folder, 'data', 'hello.txt'), 'hello files');
    await writeFile(path.join(folder, 'data', 'sub', 'nested.txt'), 'nested');
  });
  after(() => rm(folder, { recursive: true, force: true }));

  it('publishes the files folder with the version', async () => {
    const result = await vscode.commands.executeCommand<PublishResult | undefined>('serval.publish', path.join(folder, 'manifest.toml'));
    assert.ok(result, 'publishing gave no result: see the Serval log');
    assert.equal(result.fqName, JOB);
    assert.match(result.filesIntegrity ?? '', /^sha256-/);
  });

  it('runs with the args and env of the command argument, over the manifest env', async () => {
    const record = await runOnUntitled({ job: JOB, args: ['--no-files', 'two words'], env: { FROM: 'keybinding', MORE: '1' } });
    assert.equal(record.output, `argv[0]=${JOB}\nargv[1]=--no-files\nargv[2]=two words\nenv FROM=keybinding\nenv MORE=1\n`);
  });

  it('runs with the published files as /', async () => {
    const record = await runOnUntitled({ job: JOB });
    assert.equal(record.problem, undefined, record.output);
    assert.match(record.output, /^argv\[0\]=test\.editor\.files\nenv FROM=manifest\nlist \/: hello\.txt sub\nread hello\.txt: hello files\n/);
  });

  it('refuses a malformed argument, saying what it must be', async () => {
    const record = await vscode.commands.executeCommand('serval.runOnActiveFile', { job: JOB, args: 'not a list' });
    assert.equal(record, undefined);
  });
});
