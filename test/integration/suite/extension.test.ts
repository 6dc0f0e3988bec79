import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import * as vscode from 'vscode';

import type { ServalTestingApi } from '../../../src/extension/extension';
import type { RunRecord } from '../../../src/extension/ctx';
import type { PublishResult } from '../../../src/extension/publish/publishJob';
import type { JobsTreeProvider } from '../../../src/extension/tree/jobsTree';
import type { AgentNode, JobsNode, ManifestNode } from '../../../src/extension/tree/nodes';
import { waitFor } from './util';

const EXTENSION_ID = 'serval.serval-vscode';

function workspaceFile(...segments: string[]): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the tests need the samples workspace open');
  return vscode.Uri.joinPath(folder.uri, ...segments);
}

function outputDocument(job: string): vscode.TextDocument | undefined {
  return vscode.workspace.textDocuments.find(
    (document) => document.uri.scheme === 'serval-output' && document.uri.path.includes(job),
  );
}

/** A URL where nothing listens: a port that was just bound and released. */
async function deadAgentUrl(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** The root of the tree when the agent answers: one agent node, or undefined (error node, empty store). */
async function agentNode(provider: JobsTreeProvider): Promise<AgentNode | undefined> {
  const roots = await provider.getChildren();
  return roots.length === 1 && roots[0].kind === 'agent' ? roots[0] : undefined;
}

/** The jobs under the agent node, as the user sees them when the tree is expanded. */
async function jobsInTree(provider: JobsTreeProvider): Promise<ManifestNode[]> {
  const agent = await agentNode(provider);
  if (!agent) return [];
  return (await provider.getChildren(agent)).filter((node) => node.kind === 'manifest');
}

async function runOnUntitled(job: string, text: string): Promise<RunRecord> {
  const input = await vscode.workspace.openTextDocument({ content: text });
  await vscode.window.showTextDocument(input);
  const record = await vscode.commands.executeCommand<RunRecord | undefined>('serval.runOnActiveFile', { job });
  assert.ok(record, `running ${job} gave no result: see the Serval log`);
  return record;
}

describe('Serval extension', function () {
  let api: ServalTestingApi;

  before(async function () {
    // The workspace contains manifest.toml files: VS Code activates the extension by itself.
    const extension = await waitFor(() => vscode.extensions.getExtension<ServalTestingApi>(EXTENSION_ID), {
      message: `the extension ${EXTENSION_ID} to be installed`,
    });
    await waitFor(() => extension.isActive, { timeoutMs: 30_000, message: 'activation on workspaceContains:**/manifest.toml' });
    api = extension.exports;
  });

  it('starts the local agent and hands it out through the API', async function () {
    const agent = await api.getAgent();
    assert.match(agent.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(agent.token, 'the local agent is started with a token');
    const pong = await fetch(`${agent.url}/monitor/ping`);
    assert.equal(await pong.text(), 'pong');
  });

  it('publishes samples/loudify through serval.publish', async function () {
    const result = await vscode.commands.executeCommand<PublishResult | undefined>(
      'serval.publish',
      workspaceFile('loudify', 'manifest.toml'),
    );
    assert.ok(result, 'publishing gave no result: see the Serval log');
    assert.equal(result.fqName, 'sh.serval.loudify');
    assert.equal(result.version, '1.0.0');
    assert.match(result.integrity, /^sha256-/);
  });

  it('lists the published job and its current version in the tree', async function () {
    const provider = api.ctx.tree.provider;
    const manifest = await waitFor(
      async () => (await jobsInTree(provider)).find((node) => node.fqName === 'sh.serval.loudify'),
      { message: 'sh.serval.loudify in the tree' },
    );
    assert.equal(provider.getParent(manifest), manifest.agent, 'the agent is the parent of its jobs');
    const manifestItem = provider.getTreeItem(manifest);
    assert.equal(manifestItem.label, 'sh.serval.loudify');
    assert.equal(manifestItem.contextValue, 'serval.manifest');
    const versions = await provider.getChildren(manifest);
    assert.equal(versions.length, 1);
    const versionItem = provider.getTreeItem(versions[0]);
    assert.equal(versionItem.label, '1.0.0');
    assert.equal(versionItem.contextValue, 'serval.version.current');
    assert.match(String(versionItem.description), /current · 4\.8 KB · /);
  });

  it('shows the local agent as the root of the tree, expanded', async function () {
    const provider = api.ctx.tree.provider;
    const roots = await provider.getChildren();
    assert.equal(roots.length, 1, 'one root: the agent in use');
    const agent = roots[0];
    assert.equal(agent.kind, 'agent');
    const item = provider.getTreeItem(agent);
    assert.equal(item.label, 'Local agent');
    assert.equal(item.contextValue, 'serval.agent');
    assert.equal(item.collapsibleState, vscode.TreeItemCollapsibleState.Expanded);
    const { url } = await api.getAgent();
    assert.equal(item.description, url.replace('http://', ''));
    const tooltip = (item.tooltip as vscode.MarkdownString).value;
    assert.ok(tooltip.includes(url), `the tooltip gives the URL: ${tooltip}`);
    assert.match(tooltip, /Token: generated by VS Code/);
  });

  it('reveals and selects a published version in the view', async function () {
    await api.ctx.tree.revealVersion('sh.serval.loudify', '1.0.0');
    const selected = await waitFor(
      () => {
        const [node] = api.ctx.tree.view.selection;
        return node?.kind === 'version' ? node : undefined;
      },
      { message: 'the version selected in the Serval view' },
    );
    assert.equal(selected.manifest.fqName, 'sh.serval.loudify');
    assert.equal(selected.executable.version, '1.0.0');
    assert.equal(api.ctx.tree.view.visible, true);
  });

  it('runs loudify on an untitled document and shows HELLO beside it', async function () {
    const record = await runOnUntitled('sh.serval.loudify', 'hello');
    assert.equal(record.result.exitCode, 0);
    assert.equal(record.problem, undefined);
    const output = await waitFor(() => outputDocument('sh.serval.loudify'), { message: 'the output document of loudify' });
    assert.equal(output.uri.path, '/sh.serval.loudify (output)');
    assert.equal(output.getText(), 'HELLO');
    assert.equal(vscode.window.activeTextEditor?.document.isUntitled, true, 'the focus stays in the input editor');
  });

  it('updates the same output document when the job runs again', async function () {
    await runOnUntitled('sh.serval.loudify', 'again');
    const output = await waitFor(
      () => {
        const document = outputDocument('sh.serval.loudify');
        return document?.getText() === 'AGAIN' ? document : undefined;
      },
      { message: 'the output document to show AGAIN' },
    );
    const outputs = vscode.workspace.textDocuments.filter((document) => document.uri.scheme === 'serval-output');
    assert.deepEqual(outputs.map((document) => document.uri.toString()), [output.uri.toString()]);
  });

  it('surfaces the exit code and stderr of a failing job', async function () {
    const published = await vscode.commands.executeCommand<PublishResult | undefined>(
      'serval.publish',
      workspaceFile('fail', 'manifest.toml'),
    );
    assert.equal(published?.fqName, 'sh.serval.fail');
    const record = await runOnUntitled('sh.serval.fail', 'some input');
    assert.equal(record.result.exitCode, 2);
    assert.match(record.problem ?? '', /^sh\.serval\.fail failed with exit code 2: fail: refusing 10 bytes of input/);
    const output = await waitFor(() => outputDocument('sh.serval.fail'), { message: 'the output document of fail' });
    assert.match(output.getText(), /refusing 10 bytes of input on purpose/);
  });

  it('refuses to publish a manifest with problems, naming each one, and stores nothing', async function () {
    const manifest = workspaceFile('broken', 'manifest.toml');
    const text = ['name = "broken"', 'namespace = "sh.serval"', 'version = "1.0.0"', 'binary = "missing.wasm"', 'description = "Its binary was never built."', ''];
    await vscode.workspace.fs.writeFile(manifest, new TextEncoder().encode(text.join('\n')));
    const result = await vscode.commands.executeCommand('serval.publish', manifest);
    // Other suites share the workspace: leave it as it was.
    await vscode.workspace.fs.delete(workspaceFile('broken'), { recursive: true });
    assert.equal(result, undefined);
    assert.equal(api.hooks!.lastFailure?.command, 'serval.publish');
    assert.match(api.hooks!.lastFailure?.message ?? '', /^Cannot publish broken\/manifest\.toml: it has a problem\. line 4: binary file not found: .*missing\.wasm/);
    const jobs = await jobsInTree(api.ctx.tree.provider);
    assert.ok(jobs.length > 0, 'the published jobs are listed');
    assert.ok(!jobs.some((node) => node.fqName === 'sh.serval.broken'), 'nothing was stored');
  });

  it('restarts the local agent on next use after it died, with the store intact', async function () {
    const before = await api.getAgent();
    const pid = api.ctx.agents.localPid;
    assert.ok(pid, 'the local agent runs');
    process.kill(pid, 'SIGKILL');
    await waitFor(() => api.ctx.agents.localState === 'stopped', { message: 'the extension to notice the death' });
    const after = await api.getAgent();
    assert.notEqual(api.ctx.agents.localPid, pid);
    assert.notEqual(after.url, before.url, 'a new agent on a new port');
    const pong = await fetch(`${after.url}/monitor/ping`);
    assert.equal(await pong.text(), 'pong');
    const record = await runOnUntitled('sh.serval.loudify', 'still here');
    assert.equal(record.output, 'STILL HERE', 'the store survived: it is on disk');
  });

  describe('with a dead agent URL', function () {
    after(async function () {
      await vscode.workspace.getConfiguration('serval').update('agent.url', undefined, vscode.ConfigurationTarget.Global);
    });

    it('shows one error node with a retry action instead of the jobs', async function () {
      const url = await deadAgentUrl();
      await vscode.workspace.getConfiguration('serval').update('agent.url', url, vscode.ConfigurationTarget.Global);
      const provider = api.ctx.tree.provider;
      const nodes = await waitFor(
        async () => {
          const children = await provider.getChildren();
          return children.length === 1 && children[0].kind === 'error' ? children : undefined;
        },
        { message: `an error node for ${url}` },
      );
      const item = provider.getTreeItem(nodes[0] as JobsNode);
      assert.equal(item.contextValue, 'serval.error');
      assert.ok(
        String(item.label).startsWith(`No agent answers at ${url}`),
        `the error node says which agent failed: ${String(item.label)}`,
      );
      assert.match(String(item.label), /serval\.agent\.url.*then retry\.$/);
    });

    it('lists the local agent\'s jobs again when switched back', async function () {
      await vscode.workspace.getConfiguration('serval').update('agent.url', undefined, vscode.ConfigurationTarget.Global);
      await waitFor(
        async () => (await jobsInTree(api.ctx.tree.provider)).length > 0,
        { message: 'the local agent\'s jobs in the tree' },
      );
    });
  });
});
