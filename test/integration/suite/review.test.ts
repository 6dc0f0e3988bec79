/**
 * Edge cases found in review, in a real VS Code: publishing a manifest with unsaved edits, a stored
 * manifest opened before a re-publish, the local agent started twice at once or while the extension
 * shuts down, and manifests that are not files on disk. Runs after the other suites (file order) and
 * publishes its own job (`sh.serval.review.*`), so it does not change what they count.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';

import { Agents } from '../../../src/extension/agent/agents';
import type { ServalTestingApi } from '../../../src/extension/extension';
import type { PublishResult } from '../../../src/extension/publish/publishJob';
import { waitFor } from './util';

const EXTENSION_ID = 'serval.serval-vscode';
const JOB = 'sh.serval.review.saving';

function workspaceRoot(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the tests need the samples workspace open');
  return folder.uri.fsPath;
}

function manifestText(version: string, description: string): string {
  return [
    'name = "saving"',
    'namespace = "sh.serval.review"',
    `version = "${version}"`,
    'binary = "../loudify/loudify.wasm"',
    `description = "${description}"`,
    '',
  ].join('\n');
}

/** Pids of the processes whose command line mentions `needle` (a storage folder unique to a test). */
function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

describe('Serval edge cases', function () {
  let api: ServalTestingApi;
  let extensionPath: string;
  let folder: string;
  let manifestUri: vscode.Uri;

  before(async function () {
    const extension = await waitFor(() => vscode.extensions.getExtension<ServalTestingApi>(EXTENSION_ID), {
      message: `the extension ${EXTENSION_ID} to be installed`,
    });
    await waitFor(() => extension.isActive, { timeoutMs: 30_000, message: 'activation' });
    api = extension.exports;
    extensionPath = extension.extensionPath;
    folder = fs.mkdtempSync(path.join(workspaceRoot(), 'review-'));
    manifestUri = vscode.Uri.file(path.join(folder, 'manifest.toml'));
    fs.writeFileSync(manifestUri.fsPath, manifestText('1.0.0', 'As saved.'));
  });

  after(async function () {
    const realConfirm = api.hooks!.answer;
    api.hooks!.answer = async () => true;
    try {
      await vscode.commands.executeCommand('serval.deleteManifest', { kind: 'manifest', fqName: JOB });
    } finally {
      api.hooks!.answer = realConfirm;
    }
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    fs.rmSync(folder, { recursive: true, force: true });
  });

  it('saves a manifest with unsaved edits before publishing it, so the disk and the agent agree', async function () {
    const document = await vscode.workspace.openTextDocument(manifestUri);
    await vscode.window.showTextDocument(document);
    const edit = new vscode.WorkspaceEdit();
    edit.replace(manifestUri, new vscode.Range(0, 0, document.lineCount, 0), manifestText('1.0.0', 'Edited, not saved yet.'));
    assert.ok(await vscode.workspace.applyEdit(edit));
    assert.equal(document.isDirty, true);

    const realConfirm = api.hooks!.answer;
    api.hooks!.answer = async () => true; // the saved manifest is newer than the sample's binary
    let result: PublishResult | undefined;
    try {
      result = await vscode.commands.executeCommand<PublishResult | undefined>('serval.publish', manifestUri);
    } finally {
      api.hooks!.answer = realConfirm;
    }
    assert.equal(result?.fqName, JOB, `published: ${api.hooks!.lastFailure?.message ?? ''}`);
    assert.equal(document.isDirty, false, 'the manifest was saved');
    const onDisk = fs.readFileSync(manifestUri.fsPath, 'utf8');
    assert.match(onDisk, /Edited, not saved yet\./);
    assert.equal(await (await api.ctx.client()).getManifest(JOB), onDisk, 'the agent stores what the file says');
  });

  it('updates an open stored manifest when the job is published again', async function () {
    const node = { kind: 'manifest', fqName: JOB };
    await vscode.commands.executeCommand('serval.openManifest', node);
    const stored = (): vscode.TextDocument | undefined =>
      vscode.workspace.textDocuments.find((document) => document.uri.scheme === 'serval-manifest' && document.uri.path === `/${JOB}.toml`);
    const before = await waitFor(stored, { message: 'the stored manifest document' });
    assert.match(before.getText(), /version = "1\.0\.0"/);

    const document = await vscode.workspace.openTextDocument(manifestUri);
    const edit = new vscode.WorkspaceEdit();
    edit.replace(manifestUri, new vscode.Range(0, 0, document.lineCount, 0), manifestText('1.1.0', 'Second version.'));
    assert.ok((await vscode.workspace.applyEdit(edit)) && (await document.save()));
    const realConfirm = api.hooks!.answer;
    api.hooks!.answer = async () => true;
    try {
      const result = await vscode.commands.executeCommand<PublishResult | undefined>('serval.publish', manifestUri);
      assert.equal(result?.version, '1.1.0', `published: ${api.hooks!.lastFailure?.message ?? ''}`);
    } finally {
      api.hooks!.answer = realConfirm;
    }
    await vscode.commands.executeCommand('serval.openManifest', node);
    await waitFor(() => /version = "1\.1\.0"/.test(stored()?.getText() ?? ''), {
      timeoutMs: 5_000,
      message: `the stored manifest to show 1.1.0, not: ${stored()?.getText() ?? '(closed)'}`,
    });
  });

  it('publishes the manifest a keybinding names by path, not the one in the active editor', async function () {
    await vscode.window.showTextDocument(vscode.Uri.file(path.join(workspaceRoot(), 'loudify', 'manifest.toml')));
    const relative = path.relative(workspaceRoot(), manifestUri.fsPath);
    const realConfirm = api.hooks!.answer;
    api.hooks!.answer = async () => true;
    try {
      const result = await vscode.commands.executeCommand<PublishResult | undefined>('serval.publish', relative);
      assert.equal(result?.fqName, JOB, `published: ${api.hooks!.lastFailure?.message ?? ''}`);
    } finally {
      api.hooks!.answer = realConfirm;
    }
  });

  it('refuses a publish argument that names no manifest, instead of publishing another one', async function () {
    api.hooks!.lastFailure = undefined;
    const result = await vscode.commands.executeCommand('serval.publish', { job: JOB });
    assert.equal(result, undefined);
    assert.deepEqual(api.hooks!.lastFailure, {
      command: 'serval.publish',
      message: 'The argument of Publish Job must be the path of a manifest.toml (absolute, or relative to the workspace folder), not {"job":"sh.serval.review.saving"}.',
    });
  });

  it('checks manifests on disk and untitled ones, not copies in other schemes (git diffs, virtual documents)', async function () {
    const broken = 'name = 1\n';
    const registration = vscode.workspace.registerTextDocumentContentProvider('serval-review', {
      provideTextDocumentContent: () => broken,
    });
    try {
      const copy = await vscode.workspace.openTextDocument(vscode.Uri.from({ scheme: 'serval-review', path: '/elsewhere/manifest.toml' }));
      assert.equal(copy.languageId, 'toml');
      // A file opened after it: once its problems show, the copy's would have shown too.
      const onDisk = vscode.Uri.file(path.join(folder, 'broken', 'manifest.toml'));
      fs.mkdirSync(path.dirname(onDisk.fsPath), { recursive: true });
      fs.writeFileSync(onDisk.fsPath, broken);
      await vscode.workspace.openTextDocument(onDisk);
      await waitFor(() => vscode.languages.getDiagnostics(onDisk).some((d) => d.source === 'serval'), {
        message: 'the problems of the manifest on disk',
      });
      assert.deepEqual(vscode.languages.getDiagnostics(copy.uri).filter((d) => d.source === 'serval'), []);
    } finally {
      registration.dispose();
    }
  });

  describe('the local agent process', function () {
    let storageDir: string;
    let agents: Agents | undefined;

    beforeEach(function () {
      storageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'serval-review-agent-'));
    });

    afterEach(function () {
      agents?.dispose();
      agents = undefined;
      for (const pid of processesMentioning(storageDir)) process.kill(pid, 'SIGKILL');
      fs.rmSync(storageDir, { recursive: true, force: true });
    });

    /** A second Agents, as the extension makes one, on a storage folder of its own. */
    function newAgents(): Agents {
      return new Agents({
        config: api.ctx.config,
        tokens: api.ctx.tokens,
        log: api.ctx.log,
        cliPath: path.join(extensionPath, 'dist', 'cli.js'),
        storageDir,
      });
    }

    it('forks one process when two commands need it at once', async function () {
      agents = newAgents();
      const [first, second] = await Promise.all([agents.getAgent(), agents.getAgent()]);
      assert.equal(first.url, second.url);
      assert.equal(processesMentioning(storageDir).length, 1);
    });

    it('leaves no process behind when disposed while the agent is starting', async function () {
      agents = newAgents();
      const starting = agents.startLocal();
      agents.dispose();
      await starting.catch(() => undefined);
      await waitFor(() => processesMentioning(storageDir).length === 0, {
        timeoutMs: 10_000,
        message: 'the agent started during disposal to exit',
      });
    });
  });
});
