import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

import type { ServalTestingApi } from '../../../src/extension/extension';
import type { LiveRun } from '../../../src/extension/run/liveRun';
import type { CaseReport, JobTestController } from '../../../src/extension/testing/jobTestController';
import { waitFor } from './util';

const EXTENSION_ID = 'serval.serval-vscode';

function workspaceFile(...segments: string[]): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the tests need the samples workspace open');
  return vscode.Uri.joinPath(folder.uri, ...segments);
}

function jobItem(controller: vscode.TestController, label: string): vscode.TestItem | undefined {
  let found: vscode.TestItem | undefined;
  controller.items.forEach((item) => {
    if (item.label === label) found = item;
  });
  return found;
}

function childLabels(item: vscode.TestItem): string[] {
  const labels: string[] = [];
  item.children.forEach((child) => labels.push(child.label));
  return labels.sort();
}

function summary(reports: CaseReport[]): string[] {
  return reports.map((report) => `${report.job}/${report.name}: ${report.passed ? 'passed' : `failed (${report.messages.join(' | ')})`}`).sort();
}

/** The next run that `onDidFinishRun` reports and that `accept` takes. */
function nextRun(jobTests: JobTestController, accept: (reports: CaseReport[]) => boolean = () => true): Promise<CaseReport[]> {
  return new Promise((resolve) => {
    const listener = jobTests.onDidFinishRun((reports) => {
      if (!accept(reports)) return;
      listener.dispose();
      resolve(reports);
    });
  });
}

async function write(uri: vscode.Uri, text: string | Uint8Array): Promise<void> {
  await vscode.workspace.fs.writeFile(uri, typeof text === 'string' ? Buffer.from(text) : text);
}

describe('Serval job tests in the Test Explorer', function () {
  let jobTests: JobTestController;
  const helloOut = () => workspaceFile('loudify', 'tests', 'hello.out');
  let helloOriginal: Uint8Array;

  before(async function () {
    const extension = vscode.extensions.getExtension<ServalTestingApi>(EXTENSION_ID);
    assert.ok(extension);
    jobTests = (await extension.activate()).jobTests;
    await jobTests.tree.discoverAll();
    helloOriginal = await vscode.workspace.fs.readFile(helloOut());
  });

  afterEach(async () => {
    await write(helloOut(), helloOriginal);
    await vscode.workspace.fs.delete(workspaceFile('loudify', 'tests', 'added.in')).then(undefined, () => undefined);
    await vscode.workspace.fs.delete(workspaceFile('loudify', 'tests', 'added.out')).then(undefined, () => undefined);
  });

  it("shows each sample job with its cases, at the manifest's name line and at each case's expected file", () => {
    const { controller } = jobTests;
    const loudify = jobItem(controller, 'sh.serval.loudify');
    assert.ok(loudify, 'no sh.serval.loudify item');
    assert.deepEqual(childLabels(loudify), ['binary', 'crlf', 'empty', 'hello']);
    assert.equal(loudify.uri?.fsPath, workspaceFile('loudify', 'manifest.toml').fsPath);
    assert.equal(loudify.range?.start.line, 0);
    const hello = loudify.children.get(`${loudify.uri!.toString()}#hello`);
    assert.equal(hello?.uri?.fsPath, helloOut().fsPath);
    assert.deepEqual(childLabels(jobItem(controller, 'sh.serval.fail')!), ['refuses']);
    assert.deepEqual(childLabels(jobItem(controller, 'sh.serval.wordfreq')!), ['animals', 'no-words']);
  });

  it('runs every sample case and each passes, with its duration', async () => {
    const reports = await jobTests.runOnce(new vscode.TestRunRequest());
    assert.deepEqual(summary(reports), [
      'sh.serval.fail/refuses: passed',
      'sh.serval.loudify/binary: passed',
      'sh.serval.loudify/crlf: passed',
      'sh.serval.loudify/empty: passed',
      'sh.serval.loudify/hello: passed',
      'sh.serval.loudify_component/binary: passed',
      'sh.serval.loudify_component/crlf: passed',
      'sh.serval.loudify_component/empty: passed',
      'sh.serval.loudify_component/hello: passed',
      'sh.serval.wordfreq/animals: passed',
      'sh.serval.wordfreq/no-words: passed',
    ]);
    assert.ok(reports.every((report) => report.durationMs >= 0));
  });

  it('fails a broken expectation with a diff of expected and actual, the exit code and stderr', async () => {
    await write(helloOut(), 'HELLO WORLD\n');
    const loudify = jobItem(jobTests.controller, 'sh.serval.loudify')!;
    const hello = loudify.children.get(`${loudify.uri!.toString()}#hello`)!;
    const reports = await waitFor(
      async () => {
        const [report] = await jobTests.runOnce(new vscode.TestRunRequest([hello]));
        return report && !report.passed ? [report] : undefined;
      },
      { message: 'hello to fail once hello.out is broken' },
    );
    const [report] = reports;
    assert.equal(report!.name, 'hello');
    assert.equal(report!.messages.length, 1);
    assert.match(report!.messages[0]!, /^stdout differs from hello\.out: first difference at byte 5.*\nexit code 0\nstderr: \(empty\)$/);
    assert.deepEqual(report!.diffs, [{ expected: 'HELLO WORLD\n', actual: 'HELLO, WORLD\n' }]);
  });

  it('adds a case as its file appears', async () => {
    await write(workspaceFile('loudify', 'tests', 'added.in'), 'new\n');
    await write(workspaceFile('loudify', 'tests', 'added.out'), 'NEW\n');
    const loudify = jobItem(jobTests.controller, 'sh.serval.loudify')!;
    await waitFor(() => childLabels(loudify).includes('added'), { message: 'the case "added" in the Test Explorer' });
    const added = loudify.children.get(`${loudify.uri!.toString()}#added`)!;
    const [report] = await jobTests.runOnce(new vscode.TestRunRequest([added]));
    assert.equal(report?.passed, true, report?.messages.join('\n'));
  });

  it('in continuous run, re-runs a case when its file changes and the whole job when its .wasm is rebuilt, until stopped', async () => {
    const loudify = jobItem(jobTests.controller, 'sh.serval.loudify')!;
    const stop = new vscode.CancellationTokenSource();
    const request = new vscode.TestRunRequest([loudify], undefined, jobTests.runProfile, true);
    const watching = Promise.resolve(jobTests.runProfile.runHandler(request, stop.token));
    assert.equal(jobTests.continuousRuns, 1);
    try {
      const afterCaseEdit = nextRun(jobTests, (reports) => reports.some((report) => !report.passed));
      await write(helloOut(), 'HELLO WORLD\n');
      assert.deepEqual((await afterCaseEdit).map((report) => `${report.name}: ${report.passed ? 'passed' : 'failed'}`), ['hello: failed']);

      const afterBuild = nextRun(jobTests, (reports) => reports.length > 1);
      const wasm = workspaceFile('loudify', 'loudify.wasm');
      await write(wasm, await vscode.workspace.fs.readFile(wasm));
      const rebuilt = await afterBuild;
      assert.deepEqual(rebuilt.map((report) => report.name).sort(), ['binary', 'crlf', 'empty', 'hello']);
    } finally {
      stop.cancel();
      await watching;
    }
    assert.equal(jobTests.continuousRuns, 0, 'the continuous run ended when stopped');
  });
});

describe('Serval: Run Job Live on Active File', function () {
  let api: ServalTestingApi;
  const wasm = () => workspaceFile('loudify', 'loudify.wasm');
  let loudifyWasm: Uint8Array;

  before(async function () {
    api = await vscode.extensions.getExtension<ServalTestingApi>(EXTENSION_ID)!.activate();
    loudifyWasm = await vscode.workspace.fs.readFile(wasm());
  });

  after(async () => {
    await vscode.commands.executeCommand('serval.stopLiveRun');
    await write(wasm(), loudifyWasm);
  });

  it('runs the build as the input changes and as the .wasm is rebuilt, beside the input, without taking the focus, until stopped', async () => {
    const input = await vscode.workspace.openTextDocument({ content: 'hello' });
    const editor = await vscode.window.showTextDocument(input);
    const live = await vscode.commands.executeCommand<LiveRun | undefined>('serval.runLiveOnActiveFile', { manifest: 'loudify/manifest.toml' });
    assert.ok(live, 'no live run: see the Serval log');
    await waitFor(() => live.lastResult?.output === 'HELLO', { message: 'the first live output HELLO' });
    const output = vscode.window.visibleTextEditors.find((visible) => visible.document.uri.toString() === live.outputUri.toString());
    assert.ok(output, 'the live output is shown');
    assert.notEqual(output.viewColumn, editor.viewColumn, 'beside the input');
    assert.equal(vscode.window.activeTextEditor?.document, input, 'the input keeps the focus');

    const runsBefore = live.runs;
    for (const word of [' w', 'o', 'r', 'l', 'd']) {
      await editor.edit((edit) => edit.insert(input.positionAt(input.getText().length), word));
    }
    await waitFor(() => live.lastResult?.output === 'HELLO WORLD', { message: 'the live output after typing' });
    // VS Code re-reads a virtual document a moment after its provider says it changed.
    await waitFor(() => output.document.getText() === 'HELLO WORLD', { message: 'the output document to update in place' });
    // How many runs the edits cost is timing (the unit tests of LiveSchedule pin it down); here: the last run read the last text.
    assert.ok(live.runs > runsBefore);
    assert.equal(live.lastResult?.inputVersion, input.version);
    assert.equal(vscode.window.activeTextEditor?.document, input, 'the input still has the focus');

    await write(wasm(), await vscode.workspace.fs.readFile(workspaceFile('fail', 'fail.wasm')));
    await waitFor(() => live.lastResult?.output.startsWith('── sh.serval.loudify exited with code 2 ──\nfail: refusing 11 bytes'), {
      message: 'the live output of the rebuilt .wasm',
    });

    await vscode.commands.executeCommand('serval.stopLiveRun');
    assert.equal(api.ctx.liveRuns.current, undefined);
  });
});
