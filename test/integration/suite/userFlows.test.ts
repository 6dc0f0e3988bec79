/**
 * What a demanding new user meets (issue 11), in a real VS Code: the Run on… CodeLens, run output
 * that says what it shows, Re-run Last Job, an empty job, Stop Local Agent, one shared job catalog,
 * and a live tree over a remote agent that dies and comes back.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';

import { AgentClient } from '../../../src/client/client';
import { LocalAgentProcess } from '../../../src/extension/agent/localAgentProcess';
import type { ServalTestingApi } from '../../../src/extension/extension';
import type { RunRecord } from '../../../src/extension/hooks';
import type { JobsTreeProvider } from '../../../src/extension/tree/jobsTree';
import type { AgentNode, JobsNode, ManifestNode } from '../../../src/extension/tree/nodes';
import { waitFor } from './util';

const EXTENSION_ID = 'serval.serval-vscode';

function workspaceFile(...segments: string[]): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the tests need the samples workspace open');
  return vscode.Uri.joinPath(folder.uri, ...segments);
}

function setSetting(key: string, value: unknown): Thenable<void> {
  return vscode.workspace.getConfiguration('serval').update(key, value, vscode.ConfigurationTarget.Global);
}

async function roots(provider: JobsTreeProvider): Promise<JobsNode[]> {
  return provider.getChildren();
}

async function jobNodes(provider: JobsTreeProvider): Promise<ManifestNode[]> {
  const [agent] = await roots(provider);
  if (agent?.kind !== 'agent') return [];
  return (await provider.getChildren(agent)).filter((node): node is ManifestNode => node.kind === 'manifest');
}

function outputLenses(uri: vscode.Uri): Thenable<vscode.CodeLens[]> {
  return vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri);
}

/** The first CodeLens title above a run's output, once it says `pattern`. */
async function outputHeader(job: string, pattern: RegExp): Promise<string> {
  const uri = vscode.Uri.from({ scheme: 'serval-output', path: `/${job} (output)` });
  return waitFor(
    async () => {
      const title = (await outputLenses(uri))[0]?.command?.title;
      return title && pattern.test(title) ? title : undefined;
    },
    { message: `the header of ${job}'s output to match ${pattern}` },
  );
}

async function publish(folder: string): Promise<void> {
  const result = await vscode.commands.executeCommand<{ fqName: string } | undefined>('serval.publish', workspaceFile(folder, 'manifest.toml'));
  assert.ok(result, `publishing ${folder} failed`);
}

describe('Serval for a demanding user', function () {
  let api: ServalTestingApi;
  /** What the last failed command told the user (read through a function: tests reset it in between). */
  const lastFailure = () => api.hooks!.lastFailure;
  let extensionPath: string;

  before(async function () {
    const extension = await waitFor(() => vscode.extensions.getExtension<ServalTestingApi>(EXTENSION_ID), { message: 'the extension' });
    await waitFor(() => extension.isActive, { timeoutMs: 30_000, message: 'activation' });
    api = extension.exports;
    extensionPath = extension.extensionPath;
    api.hooks!.answer = async () => true;
    await publish('loudify');
    await publish('fail');
  });

  after(async function () {
    await setSetting('codeLens.enabled', undefined);
  });

  it('knows the workspace has a job manifest (the context key of its status bar item, run button and folder menu)', function () {
    assert.equal(api.ctx.workspaceJobs.hasJobManifest, true);
  });

  it('offers "Run on…" above a manifest for its own job, and no CodeLens once turned off', async function () {
    const manifest = workspaceFile('loudify', 'manifest.toml');
    await vscode.window.showTextDocument(manifest);
    const lenses = await waitFor(
      async () => {
        const found = await outputLenses(manifest);
        return found.length >= 2 ? found : undefined;
      },
      { message: 'the CodeLens of the manifest' },
    );
    const runOn = lenses.find((lens) => lens.command?.title.includes('Run on'));
    assert.equal(runOn?.command?.command, 'serval.runOnActiveFile');
    assert.deepEqual(runOn?.command?.arguments, [{ preselect: 'sh.serval.loudify', askForInput: true }], 'Run on… asks for a file, it never runs on the manifest');

    await setSetting('codeLens.enabled', false);
    await waitFor(async () => (await outputLenses(manifest)).length === 0, { message: 'no CodeLens with serval.codeLens.enabled off' });
    await setSetting('codeLens.enabled', undefined);
  });

  it('runs a job on a file, says the stream, exit code and duration above the output, and re-runs it on the same file', async function () {
    const input = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'serval-it-input-')), 'words.txt');
    fs.writeFileSync(input, 'from a file');
    const record = await vscode.commands.executeCommand<RunRecord>('serval.runOnFile', { job: 'sh.serval.loudify', input });
    assert.equal(record?.output, 'FROM A FILE');
    assert.match(await outputHeader('sh.serval.loudify', /FROM|stdout/), /^\$\(pass\) stdout · exit code 0 · \d+ ms$/);

    fs.writeFileSync(input, 'changed since');
    const again = await vscode.commands.executeCommand<RunRecord>('serval.rerunLastJob');
    assert.equal(again?.output, 'CHANGED SINCE', 'Re-run Last Job reads the same file again');
  });

  it('says stderr and the exit code above the output of a failing run', async function () {
    const document = await vscode.workspace.openTextDocument({ content: 'some input' });
    await vscode.window.showTextDocument(document);
    const record = await vscode.commands.executeCommand<RunRecord>('serval.runOnActiveFile', { job: 'sh.serval.fail' });
    assert.equal(record?.result.exitCode, 2);
    assert.match(await outputHeader('sh.serval.fail', /stderr/), /^\$\(error\) stderr · exit code 2 · \d+ ms$/);
  });

  it('shows a job whose versions were all deleted as empty, with Publish, and a run says to publish it', async function () {
    const provider = api.ctx.tree.provider;
    const fail = await waitFor(async () => (await jobNodes(provider)).find((node) => node.fqName === 'sh.serval.fail'), { message: 'fail in the tree' });
    for (const version of await provider.getChildren(fail)) {
      await vscode.commands.executeCommand('serval.deleteVersion', version);
    }
    const emptied = await waitFor(
      async () => {
        const node = (await jobNodes(provider)).find((candidate) => candidate.fqName === 'sh.serval.fail');
        if (!node) return undefined;
        const children = await provider.getChildren(node);
        const refreshed = (await jobNodes(provider)).find((candidate) => candidate.fqName === 'sh.serval.fail');
        return refreshed?.isEmpty ? { node: refreshed, children } : undefined;
      },
      { message: 'fail shown as a job without versions' },
    );
    assert.equal(provider.getTreeItem(emptied.node).contextValue, 'serval.manifest.empty');
    assert.equal(provider.getTreeItem(emptied.node).description, 'no version stored');
    assert.equal(emptied.children.length, 1);
    const row = provider.getTreeItem(emptied.children[0]);
    assert.equal(row.command?.command, 'serval.publish');

    const stored = await vscode.workspace.openTextDocument(vscode.Uri.from({ scheme: 'serval-manifest', path: '/sh.serval.fail.toml', query: 'name=sh.serval.fail' }));
    await vscode.commands.executeCommand('serval.deleteManifest', emptied.node);
    await waitFor(() => stored.getText().startsWith('# sh.serval.fail is no longer stored on the local agent: it was deleted.'), {
      message: 'the open stored manifest of a deleted job to say so',
    });
    await publish('fail');
    const document = await vscode.workspace.openTextDocument({ content: 'x' });
    await vscode.window.showTextDocument(document);
    const [version] = await provider.getChildren((await jobNodes(provider)).find((node) => node.fqName === 'sh.serval.fail'));
    await vscode.commands.executeCommand('serval.deleteVersion', version);
    api.hooks!.lastFailure = undefined;
    await vscode.commands.executeCommand('serval.runOnActiveFile', { job: 'sh.serval.fail' });
    assert.equal(lastFailure()?.message, 'sh.serval.fail has no version stored on the local agent, so it cannot run: publish it first.');
    await publish('fail');
  });

  it('asks before publishing other bytes under a stored version, and Bump Version edits the manifest and publishes that', async function () {
    const folder = workspaceFile('versioned');
    const manifest = vscode.Uri.joinPath(folder, 'manifest.toml');
    const text = fs.readFileSync(workspaceFile('loudify', 'manifest.toml').fsPath, 'utf8').replace('name = "loudify"', 'name = "versioned"');
    fs.mkdirSync(folder.fsPath, { recursive: true });
    fs.writeFileSync(manifest.fsPath, text.replace('binary = "loudify.wasm"', 'binary = "job.wasm"'));
    fs.copyFileSync(workspaceFile('loudify', 'loudify.wasm').fsPath, path.join(folder.fsPath, 'job.wasm'));
    try {
      await publish('versioned');
      fs.copyFileSync(workspaceFile('fail', 'fail.wasm').fsPath, path.join(folder.fsPath, 'job.wasm'));
      api.hooks!.answerChoice = async () => 'Bump Version';
      const result = await vscode.commands.executeCommand<{ version: string } | undefined>('serval.publish', manifest);
      const question = api.hooks!.choices.at(-1);
      assert.equal(question?.message, 'sh.serval.versioned 1.0.0 is already stored on the local agent with other bytes.');
      assert.deepEqual(question?.actions, ['Bump Version', 'Replace']);
      assert.equal(result?.version, '1.0.1');
      assert.match(fs.readFileSync(manifest.fsPath, 'utf8'), /^version = "1\.0\.1"$/m, 'the manifest now says the new version');
      const versions = (await api.ctx.catalog.versions('sh.serval.versioned')).map((executable) => executable.version);
      assert.deepEqual([...versions].sort(), ['1.0.0', '1.0.1'], '1.0.0 kept its bytes');
    } finally {
      fs.rmSync(folder.fsPath, { recursive: true, force: true });
    }
  });

  it('shows a stopped local agent as a row that starts it, with no error; a run then offers Start Local Agent', async function () {
    const provider = api.ctx.tree.provider;
    await vscode.commands.executeCommand('serval.stopLocalAgent');
    const [row] = await waitFor(
      async () => {
        const found = await roots(provider);
        return found.length === 1 && found[0].kind === 'notice' ? found : undefined;
      },
      { message: 'the stopped-agent row' },
    );
    const item = provider.getTreeItem(row);
    assert.equal(item.label, 'The local agent is stopped. Click to start it.');
    assert.equal(item.command?.command, 'serval.startLocalAgent');
    const document = await vscode.workspace.openTextDocument({ content: 'x' });
    await vscode.window.showTextDocument(document);
    api.hooks!.lastFailure = undefined;
    await vscode.commands.executeCommand('serval.runOnActiveFile', { job: 'sh.serval.loudify' });
    assert.match(lastFailure()?.message ?? '', /^The local agent is stopped\. Start it with "Serval: Start Local Agent"/);
    await vscode.commands.executeCommand('serval.startLocalAgent');
    await waitFor(async () => (await jobNodes(provider)).length > 0, { message: 'the jobs after Start Local Agent' });
  });

  describe('a remote agent, seen through a proxy that counts requests and can drop out', function () {
    let agent: LocalAgentProcess;
    let storage: string;
    let proxy: http.Server;
    let port: number;
    const requests: string[] = [];

    function startProxy(listenPort: number): Promise<void> {
      proxy = http.createServer((request, response) => {
        requests.push(`${request.method} ${request.url}`);
        const target = new URL(agent.url);
        const forwarded = http.request(
          { host: target.hostname, port: target.port, method: request.method, path: request.url, headers: { ...request.headers, host: target.host } },
          (answer) => {
            response.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(response);
          },
        );
        forwarded.on('error', () => response.destroy());
        request.pipe(forwarded);
      });
      return new Promise((resolve) => proxy.listen(listenPort, '127.0.0.1', () => resolve()));
    }

    function stopProxy(): Promise<void> {
      return new Promise((resolve) => {
        proxy.close(() => resolve());
        proxy.closeAllConnections();
      });
    }

    before(async function () {
      storage = fs.mkdtempSync(path.join(os.tmpdir(), 'serval-it-proxy-'));
      agent = await LocalAgentProcess.start({
        cliPath: path.join(extensionPath, 'dist', 'cli.js'),
        storageDir: storage,
        token: 'proxy-test-token',
        jobTimeoutMs: 10_000,
        jobMemoryMb: 64,
        onLog: () => undefined,
      });
      const client = new AgentClient({ url: agent.url, token: 'proxy-test-token' });
      for (const job of ['loudify', 'fail', 'wordfreq']) {
        await client.storeManifest(fs.readFileSync(workspaceFile(job, 'manifest.toml').fsPath, 'utf8'));
        await client.putExecutable(`sh.serval.${job}`, '1.0.0', new Uint8Array(fs.readFileSync(workspaceFile(job, `${job}.wasm`).fsPath)));
      }
      await startProxy(0);
      port = (proxy.address() as AddressInfo).port;
      await setSetting('agent.url', `http://127.0.0.1:${port}`);
      await vscode.commands.executeCommand('serval.setAgentToken', 'proxy-test-token');
      await vscode.commands.executeCommand('serval.jobs.focus');
    });

    after(async function () {
      await api.ctx.tokens.clear(`http://127.0.0.1:${port}`);
      await setSetting('agent.url', undefined);
      await stopProxy().catch(() => undefined);
      await agent.stop();
      fs.rmSync(storage, { recursive: true, force: true });
    });

    it('reads the store once for the tree and the run picker; a publish re-reads that job only', async function () {
      const provider = api.ctx.tree.provider;
      await waitFor(async () => (await jobNodes(provider)).length === 3, { message: 'three jobs from the remote agent' });
      requests.length = 0;
      provider.redraw();
      assert.equal((await jobNodes(provider)).length, 3);
      assert.equal((await api.ctx.catalog.jobs()).length, 3, 'the picker reads the same catalog');
      assert.deepEqual(requests.filter((line) => line.includes('/storage/')), [], 'a re-draw and the picker cost the agent nothing');

      await publish('wordfreq');
      await waitFor(async () => (await jobNodes(provider)).length === 3, { message: 'the jobs after publishing' });
      const reads = requests.filter((line) => line.startsWith('GET /v1/storage/manifests/'));
      assert.ok(reads.some((line) => line.includes('sh.serval.wordfreq')), 'the published job was read again');
      assert.deepEqual(
        reads.filter((line) => /sh\.serval\.(loudify|fail)\b/.test(line)),
        [],
        `only the published job is read again, not every manifest: ${reads.join(', ')}`,
      );
    });

    it('polls health only while the Serval view is visible', async function () {
      await vscode.commands.executeCommand('serval.jobs.focus');
      await waitFor(() => api.ctx.health.isPolling, { message: 'polling while the view is visible' });
      await vscode.commands.executeCommand('workbench.action.closeSidebar');
      await waitFor(() => !api.ctx.health.isPolling, { message: 'no polling once the view is hidden' });
      await vscode.commands.executeCommand('serval.jobs.focus');
      await waitFor(() => api.ctx.health.isPolling, { message: 'polling again when the view shows' });
    });

    it('says "not answering" when the agent dies, retries from the error row, and lists the jobs again when it is back', async function () {
      const provider = api.ctx.tree.provider;
      await stopProxy();
      const agentRow = await waitFor(
        async () => {
          const [root] = await roots(provider);
          return root?.kind === 'agent' && provider.getTreeItem(root).description === 'not answering' ? (root as AgentNode) : undefined;
        },
        { timeoutMs: 30_000, message: 'the agent row to say "not answering" without any click' },
      );
      assert.ok(agentRow);
      await vscode.commands.executeCommand('serval.refresh');
      const [error] = await waitFor(
        async () => {
          const found = await roots(provider);
          return found.length === 1 && found[0].kind === 'error' ? found : undefined;
        },
        { message: 'an error row after Refresh' },
      );
      assert.equal(provider.getTreeItem(error).command?.command, 'serval.refresh', 'a click on the error row retries');

      await startProxy(port);
      await waitFor(async () => (await jobNodes(provider)).length === 3, {
        timeoutMs: 30_000,
        message: 'the jobs again once the agent answers, without any click',
      });
    });
  });
});
