/**
 * A live run: the workspace's build of one job re-runs on the input editor's text as the text
 * changes and when the .wasm (or the manifest) changes, with the output updated in place in a
 * read-only document beside the input. Runs in the extension host with the agent's own JobRunner
 * and the local agent's limits, like the Test Explorer: nothing is published.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { DEFAULT_JOB_LIMITS } from '../../agent/runner/types';
import { asText, discoverJobTests, LocalCaseRunner, readJobFiles, type CaseOutcome } from '../../jobtests';
import type { Ctx } from '../ctx';
import { OutputDocuments } from '../documents/outputDocuments';
import { UserFacingError } from '../errors';
import { LiveSchedule } from './liveSchedule';

export const LIVE_RUN_CONTEXT = 'serval.liveRunActive';

/** What one live run gave, for the status bar and the tests. */
export interface LiveRunResult {
  job: string;
  /** The input document's version the run read. */
  inputVersion: number;
  output: string;
  outcome: CaseOutcome;
}

export class LiveRun implements vscode.Disposable {
  private readonly schedule: LiveSchedule;
  private readonly runner: LocalCaseRunner;
  private readonly statusItem: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly ran = new vscode.EventEmitter<LiveRunResult>();
  /** Fires after each run, once the output document shows its result. */
  readonly onDidRun = this.ran.event;
  private readonly ended = new vscode.EventEmitter<void>();
  readonly onDidEnd = this.ended.event;
  private shownBeside = false;
  private jobName: string;
  /** Runs started, for tests: it shows that a burst of edits gives few runs. */
  runs = 0;
  lastResult: LiveRunResult | undefined;

  constructor(
    private readonly ctx: Ctx,
    readonly manifestPath: string,
    readonly input: vscode.TextDocument,
    delayMs: number,
  ) {
    this.jobName = path.basename(path.dirname(manifestPath));
    this.runner = new LocalCaseRunner({ ...DEFAULT_JOB_LIMITS, timeoutMs: ctx.config.jobTimeoutMs, memoryBytes: ctx.config.jobMemoryMb * 1024 * 1024 }, 1, false);
    this.schedule = new LiveSchedule(() => this.runOnce(), delayMs);
    this.statusItem = vscode.window.createStatusBarItem('serval.liveRun', vscode.StatusBarAlignment.Left, 50);
    this.statusItem.name = 'Serval Live Run';
    this.statusItem.command = 'serval.stopLiveRun';
    const jobFolder = new vscode.RelativePattern(vscode.Uri.file(path.dirname(manifestPath)), '{manifest.toml,**/*.wasm}');
    const watcher = vscode.workspace.createFileSystemWatcher(jobFolder);
    this.disposables.push(
      this.statusItem,
      this.ran,
      this.ended,
      watcher,
      watcher.onDidChange(() => this.schedule.poke()),
      watcher.onDidCreate(() => this.schedule.poke()),
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (event.document === input && event.contentChanges.length > 0) this.schedule.poke();
      }),
      vscode.workspace.onDidCloseTextDocument((document) => {
        if (document === input) this.dispose();
      }),
    );
  }

  /** A run is in progress or waits for its delay. */
  get busy(): boolean {
    return this.schedule.busy;
  }

  get outputUri(): vscode.Uri {
    return OutputDocuments.uri(`${this.jobName} live`);
  }

  start(): void {
    this.showStatus('$(sync~spin)', 'starting');
    this.statusItem.show();
    this.schedule.runNow();
  }

  private async runOnce(): Promise<void> {
    this.runs++;
    const inputVersion = this.input.version;
    const stdin = new TextEncoder().encode(this.input.getText());
    this.showStatus('$(sync~spin)', 'running');
    let outcome: CaseOutcome;
    try {
      outcome = await this.runBuild(stdin);
    } catch (error) {
      outcome = { kind: 'not-run', message: error instanceof Error ? error.message : String(error), durationMs: 0 };
    }
    if (this.disposed) return;
    const output = outputText(this.jobName, outcome);
    const uri = this.ctx.outputDocuments.set(`${this.jobName} live`, output);
    if (!this.shownBeside) {
      this.shownBeside = true;
      // Beside the input, once, never taking the focus: later runs update the document in place.
      const document = await vscode.workspace.openTextDocument(uri);
      await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true, preview: false });
    }
    const ok = outcome.kind === 'exited' && outcome.exitCode === 0;
    this.showStatus(ok ? '$(eye)' : '$(warning)', ok ? `${Math.round(outcome.durationMs)} ms` : failureWord(outcome));
    this.lastResult = { job: this.jobName, inputVersion, output, outcome };
    this.ran.fire(this.lastResult);
  }

  /** The manifest is read again each time: its binary may have moved, its name changed. */
  private async runBuild(stdin: Uint8Array): Promise<CaseOutcome> {
    const job = await discoverJobTests(this.manifestPath);
    if (job.problem || !job.jobName || !job.binaryPath) throw new Error(job.problem ?? 'the manifest is invalid');
    this.jobName = job.jobName;
    let wasm: Uint8Array;
    try {
      wasm = new Uint8Array(await vscode.workspace.fs.readFile(vscode.Uri.file(job.binaryPath)));
    } catch {
      throw new Error(`its binary ${path.relative(path.dirname(this.manifestPath), job.binaryPath)} does not exist yet: build it`);
    }
    const files = await readJobFiles(job);
    const session = await this.runner.open({ jobName: job.jobName, manifestText: '', wasm, defaults: job.defaults ?? { args: [], env: {} }, files });
    return session.run({ stdin, exitCode: 0 });
  }

  private showStatus(icon: string, state: string): void {
    this.statusItem.text = `${icon} Live: ${this.jobName}`;
    this.statusItem.tooltip = `Serval runs ${this.jobName} live on ${path.basename(this.input.uri.path)} (${state}). Click to stop.`;
  }

  private disposed = false;

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    void this.schedule.stop().then(() => this.runner.close());
    this.ended.fire();
    for (const disposable of this.disposables.splice(0).reverse()) disposable.dispose();
  }
}

/** stdout on success; else what went wrong first, then stderr and stdout, so a failing build reads at a glance. */
export function outputText(job: string, outcome: CaseOutcome): string {
  const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? '' : (asText(bytes) ?? `(${bytes.length} bytes, not text)\n`));
  if (outcome.kind === 'not-run') return `${job} did not run: ${outcome.message}\n`;
  if (outcome.kind === 'exited' && outcome.exitCode === 0) return text(outcome.stdout);
  const stderr = text(outcome.stderr);
  const stdout = text(outcome.stdout);
  const parts = [`── ${job} ${failureWord(outcome)} ──\n`];
  if (stderr) parts.push(stderr.endsWith('\n') ? stderr : `${stderr}\n`);
  if (stdout) parts.push('── stdout ──\n', stdout);
  return parts.join('');
}

function failureWord(outcome: CaseOutcome): string {
  switch (outcome.kind) {
    case 'exited':
      return outcome.exitCode === 0 ? 'output cut at the limit' : `exited with code ${outcome.exitCode}`;
    case 'trapped':
      return `crashed (trap: ${outcome.trap})`;
    case 'timed-out':
      return `ran past the time limit of ${outcome.limitMs} ms`;
    case 'not-run':
      return 'did not run';
  }
}

/** The live run in progress (one at a time: starting another stops it). */
export class LiveRuns implements vscode.Disposable {
  current: LiveRun | undefined;

  start(ctx: Ctx, manifestPath: string, input: vscode.TextDocument, delayMs: number): LiveRun {
    this.stop();
    const live = new LiveRun(ctx, manifestPath, input, delayMs);
    this.current = live;
    void vscode.commands.executeCommand('setContext', LIVE_RUN_CONTEXT, true);
    live.onDidEnd(() => {
      if (this.current !== live) return;
      this.current = undefined;
      void vscode.commands.executeCommand('setContext', LIVE_RUN_CONTEXT, false);
    });
    live.start();
    return live;
  }

  stop(): boolean {
    const live = this.current;
    live?.dispose();
    return live !== undefined;
  }

  dispose(): void {
    this.stop();
  }
}

export function requireInput(document: vscode.TextDocument | undefined, ours: readonly string[]): vscode.TextDocument {
  if (!document || ours.includes(document.uri.scheme)) {
    throw new UserFacingError('Open the file whose text the job should read (an untitled editor works too), then start the live run again.');
  }
  return document;
}
