/**
 * Commands around the agent and the store, in a real VS Code: Set / Clear Agent Token against a
 * remote agent started with a token (the real CLI), Delete Version / Delete Job with their modal
 * confirmation, `serval.publish.preTask`, and cancelling a publish. Each suite leaves the extension
 * on the local agent, as it found it.
 */
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';

import { AgentClient } from '../../../src/client/client';
import { LocalAgentProcess } from '../../../src/extension/agent/localAgentProcess';
import type { Confirmation } from '../../../src/extension/confirm';
import type { ServalTestingApi } from '../../../src/extension/extension';
import type { PublishResult } from '../../../src/extension/publish/publishJob';
import type { JobsTreeProvider } from '../../../src/extension/tree/jobsTree';
import type { AgentNode, ErrorNode, ManifestNode, VersionNode } from '../../../src/extension/tree/nodes';
import { waitFor } from './util';

const EXTENSION_ID = 'serval.serval-vscode';

function workspaceFile(...segments: string[]): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the tests need the samples workspace open');
  return vscode.Uri.joinPath(folder.uri, ...segments);
}

function setAgentUrl(url: string | undefined): Thenable<void> {
  return vscode.workspace.getConfiguration('serval').update('agent.url', url, vscode.ConfigurationTarget.Global);
}

/** The single root of the tree when it is an agent node. */
async function agentRoot(provider: JobsTreeProvider): Promise<AgentNode | undefined> {
  const roots = await provider.getChildren();
  return roots.length === 1 && roots[0].kind === 'agent' ? roots[0] : undefined;
}

/** The single root of the tree when it is an error node. */
async function errorRoot(provider: JobsTreeProvider): Promise<ErrorNode | undefined> {
  const roots = await provider.getChildren();
  return roots.length === 1 && roots[0].kind === 'error' ? roots[0] : undefined;
}

async function jobNode(provider: JobsTreeProvider, fqName: string): Promise<ManifestNode | undefined> {
  const agent = await agentRoot(provider);
  if (!agent) return undefined;
  const children = await provider.getChildren(agent);
  return children.find((node): node is ManifestNode => node.kind === 'manifest' && node.fqName === fqName);
}

async function versionsInTree(provider: JobsTreeProvider, fqName: string): Promise<VersionNode[]> {
  const job = await jobNode(provider, fqName);
  if (!job) return [];
  return (await provider.getChildren(job)).filter((node): node is VersionNode => node.kind === 'version');
}

/** Answers every confirmation with `answer` and keeps the questions, as the user would have read them. */
function answerConfirmations(api: ServalTestingApi, answer: boolean): Confirmation[] {
  const asked: Confirmation[] = [];
  api.hooks!.answer = async (question) => {
    asked.push(question);
    return answer;
  };
  return asked;
}

describe('Serval commands', function () {
  let api: ServalTestingApi;
  let extensionPath: string;
  let realConfirm: NonNullable<ServalTestingApi['hooks']>['answer'];

  before(async function () {
    const extension = await waitFor(() => vscode.extensions.getExtension<ServalTestingApi>(EXTENSION_ID), {
      message: `the extension ${EXTENSION_ID} to be installed`,
    });
    await waitFor(() => extension.isActive, { timeoutMs: 30_000, message: 'activation on workspaceContains:**/manifest.toml' });
    api = extension.exports;
    extensionPath = extension.extensionPath;
    realConfirm = api.hooks!.answer;
  });

  afterEach(function () {
    api.hooks!.answer = realConfirm;
  });

  describe('a remote agent started with a token', function () {
    const token = `it-token-${randomBytes(8).toString('hex')}`;
    let storage: string;
    let agent: LocalAgentProcess;
    let agentLog: string[];

    before(async function () {
      storage = fs.mkdtempSync(path.join(os.tmpdir(), 'serval-it-remote-'));
      agentLog = [];
      // The real CLI, as a user runs it on a build box: `serval agent --port 0 --token T`.
      agent = await LocalAgentProcess.start({
        cliPath: path.join(extensionPath, 'dist', 'cli.js'),
        storageDir: storage,
        token,
        jobTimeoutMs: 10_000,
        jobMemoryMb: 64,
        onLog: (line) => agentLog.push(line.message),
      });
      // Somebody published two versions of loudify there already.
      const client = new AgentClient({ url: agent.url, token });
      const manifest = fs.readFileSync(workspaceFile('loudify', 'manifest.toml').fsPath, 'utf8');
      const wasm = new Uint8Array(fs.readFileSync(workspaceFile('loudify', 'loudify.wasm').fsPath));
      await client.storeManifest(manifest);
      await client.putExecutable('sh.serval.loudify', '1.0.0', wasm);
      await client.storeManifest(manifest.replace('version = "1.0.0"', 'version = "1.1.0"'));
      await client.putExecutable('sh.serval.loudify', '1.1.0', wasm);
      await setAgentUrl(agent.url);
    });

    after(async function () {
      await api.ctx.tokens.clear(agent.url);
      await setAgentUrl(undefined);
      await agent.stop();
      fs.rmSync(storage, { recursive: true, force: true });
    });

    it('shows an error node saying that it needs a token, which a click sets', async function () {
      const provider = api.ctx.tree.provider;
      const error = await waitFor(() => errorRoot(provider), { message: `an error node for ${agent.url}` });
      const item = provider.getTreeItem(error);
      assert.equal(item.label, `${agent.url} needs a token: set it with "Serval: Set Agent Token…".`);
      assert.equal(item.command?.command, 'serval.setAgentToken');
    });

    it('refuses an empty token and stores nothing', async function () {
      await vscode.commands.executeCommand('serval.setAgentToken', '   ');
      assert.deepEqual(api.hooks!.lastFailure, {
        command: 'serval.setAgentToken',
        message: 'The token cannot be empty: nothing was stored.',
      });
      assert.equal(await api.ctx.tokens.get(agent.url), undefined);
    });

    it('lists its jobs once Set Agent Token stored the token in secret storage, not in settings', async function () {
      await vscode.commands.executeCommand('serval.setAgentToken', token);
      const provider = api.ctx.tree.provider;
      const root = await waitFor(() => agentRoot(provider), { message: 'the remote agent node' });
      const item = provider.getTreeItem(root);
      assert.equal(item.label, agent.url.replace('http://', ''));
      assert.equal(item.description, 'connected');
      assert.match((item.tooltip as vscode.MarkdownString).value, /Token: set \(kept in VS Code's secret storage\)/);
      const job = await waitFor(() => jobNode(provider, 'sh.serval.loudify'), { message: 'loudify under the remote agent' });
      assert.equal(provider.getTreeItem(job).description, '1.1.0');
      assert.equal((await api.getAgent()).token, token);
      assert.equal(await api.ctx.tokens.get(agent.url), token);
      const settings = JSON.stringify(vscode.workspace.getConfiguration());
      assert.ok(!settings.includes(token), 'the token is in no setting');
    });

    it('forgets the token with Clear Agent Token: the agent refuses again', async function () {
      await vscode.commands.executeCommand('serval.clearAgentToken');
      const provider = api.ctx.tree.provider;
      const error = await waitFor(() => errorRoot(provider), { message: 'the error node once the token is cleared' });
      assert.match(String(provider.getTreeItem(error).label), /needs a token/);
      assert.equal((await api.getAgent()).token, undefined);
      await vscode.commands.executeCommand('serval.setAgentToken', token);
      await waitFor(() => agentRoot(provider), { message: 'the remote agent node once the token is set again' });
    });

    it('deletes a version only after the confirmation', async function () {
      const provider = api.ctx.tree.provider;
      const versions = await waitFor(
        async () => {
          const found = await versionsInTree(provider, 'sh.serval.loudify');
          return found.length === 2 ? found : undefined;
        },
        { message: 'the two versions of loudify' },
      );
      assert.deepEqual(versions.map((node) => node.executable.version), ['1.1.0', '1.0.0']);
      const older = versions[1];

      const declined = answerConfirmations(api, false);
      await vscode.commands.executeCommand('serval.deleteVersion', older);
      assert.deepEqual(declined, [
        { message: `Delete version 1.0.0 of sh.serval.loudify from ${agent.url}?`, detail: undefined, action: 'Delete' },
      ]);
      assert.equal((await versionsInTree(provider, 'sh.serval.loudify')).length, 2, 'declining deletes nothing');

      const accepted = answerConfirmations(api, true);
      await vscode.commands.executeCommand('serval.deleteVersion', older);
      assert.equal(accepted.length, 1);
      const left = await waitFor(
        async () => {
          const found = await versionsInTree(provider, 'sh.serval.loudify');
          return found.length === 1 ? found : undefined;
        },
        { message: 'one version left' },
      );
      assert.equal(left[0].executable.version, '1.1.0');
      assert.equal(provider.getTreeItem(left[0]).contextValue, 'serval.version.current');
    });

    it('deletes the job after the confirmation; the empty store shows no root, so the welcome view shows', async function () {
      const provider = api.ctx.tree.provider;
      const job = await waitFor(() => jobNode(provider, 'sh.serval.loudify'), { message: 'loudify in the tree' });
      const asked = answerConfirmations(api, true);
      await vscode.commands.executeCommand('serval.deleteManifest', job);
      assert.equal(asked.length, 1);
      assert.equal(asked[0].message, `Delete sh.serval.loudify and all its versions from ${agent.url}?`);
      assert.equal(asked[0].action, 'Delete');
      await waitFor(async () => (await provider.getChildren()).length === 0, { message: 'an empty tree' });
    });
  });

  describe('serval.publish.preTask', function () {
    const marker = (): string => workspaceFile('pre-task-ran.marker').fsPath;

    before(async function () {
      const tasks = {
        version: '2.0.0',
        tasks: [
          { label: 'serval-test: touch marker', type: 'shell', command: 'touch pre-task-ran.marker', options: { cwd: '${workspaceFolder}' } },
          { label: 'serval-test: failing build', type: 'shell', command: 'exit 3' },
        ],
      };
      fs.mkdirSync(workspaceFile('.vscode').fsPath, { recursive: true });
      fs.writeFileSync(workspaceFile('.vscode', 'tasks.json').fsPath, JSON.stringify(tasks, null, 2));
      await waitFor(
        async () => (await vscode.tasks.fetchTasks()).some((task) => task.name === 'serval-test: failing build'),
        { message: 'VS Code to read .vscode/tasks.json' },
      );
    });

    after(async function () {
      await vscode.workspace.getConfiguration('serval').update('publish.preTask', undefined, vscode.ConfigurationTarget.Global);
      fs.rmSync(workspaceFile('.vscode').fsPath, { recursive: true, force: true });
      fs.rmSync(marker(), { force: true });
    });

    async function usePreTask(name: string): Promise<void> {
      await vscode.workspace.getConfiguration('serval').update('publish.preTask', name, vscode.ConfigurationTarget.Global);
    }

    it('runs the named task before publishing', async function () {
      await usePreTask('serval-test: touch marker');
      assert.equal(fs.existsSync(marker()), false);
      const result = await vscode.commands.executeCommand<PublishResult | undefined>(
        'serval.publish',
        workspaceFile('wordfreq', 'manifest.toml'),
      );
      assert.equal(result?.fqName, 'sh.serval.wordfreq', 'published');
      assert.ok(fs.existsSync(marker()), 'the task ran before the publish finished');
    });

    it('publishes nothing when the task fails, and says why', async function () {
      await usePreTask('serval-test: failing build');
      api.hooks!.lastFailure = undefined;
      const result = await vscode.commands.executeCommand('serval.publish', workspaceFile('fail', 'manifest.toml'));
      assert.equal(result, undefined);
      assert.deepEqual(api.hooks!.lastFailure, {
        command: 'serval.publish',
        message: 'The task "serval-test: failing build" failed (exit code 3), so nothing was published. See its terminal.',
      });
      const stored = await (await api.ctx.client()).listManifests();
      assert.ok(!stored.includes('sh.serval.fail'), `nothing was stored: ${stored.join(', ')}`);
    });

    it('names a task that does not exist', async function () {
      await usePreTask('serval-test: no such task');
      const result = await vscode.commands.executeCommand('serval.publish', workspaceFile('fail', 'manifest.toml'));
      assert.equal(result, undefined);
      assert.match(api.hooks!.lastFailure?.message ?? '', /^The task "serval-test: no such task" named by serval\.publish\.preTask does not exist/);
    });
  });

  describe('cancelling a publish', function () {
    let server: http.Server;
    let uploadStarted = false;
    let uploadAborted = false;

    before(async function () {
      // An agent that takes uploads and never answers them: the publish waits until it is cancelled.
      server = http.createServer((request, response) => {
        if (request.method === 'GET' && request.url === '/monitor/ping') {
          response.end('pong');
          return;
        }
        if (request.method === 'POST' || request.method === 'PUT') {
          uploadStarted = true;
          request.socket.once('close', () => (uploadAborted = true));
          request.resume();
          return;
        }
        response.writeHead(503).end('busy');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as { port: number };
      await setAgentUrl(`http://127.0.0.1:${port}`);
    });

    after(async function () {
      await setAgentUrl(undefined);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('aborts the upload when the progress notification is cancelled, silently', async function () {
      await vscode.commands.executeCommand('notifications.clearAll');
      api.hooks!.lastFailure = undefined;
      const publishing = vscode.commands.executeCommand('serval.publish', workspaceFile('loudify', 'manifest.toml'));
      await waitFor(() => uploadStarted, { message: 'the upload to reach the agent' });
      // The newest notification is the publish progress; its primary action is Cancel.
      await vscode.commands.executeCommand('notification.acceptPrimaryAction');
      assert.equal(await publishing, undefined);
      await waitFor(() => uploadAborted, { message: 'the HTTP request to be aborted' });
      assert.equal(api.hooks!.lastFailure, undefined, 'a cancellation is not reported as a failure');
    });
  });
});
