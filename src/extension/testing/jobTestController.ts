/**
 * Job tests in the Test Explorer. Running publishes nothing: the cases run in the extension host
 * with the agent's own JobRunner (worker threads, terminated at the time limit; memory capped),
 * under the local agent's limit settings. That sees stdout and stderr both (an agent's answer
 * carries one of them), needs no agent, and leaves nothing to clean up after a crash; a remote
 * agent in use is never touched. `serval test --agent` covers running on a real agent.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { DEFAULT_JOB_LIMITS } from '../../agent/runner/types';
import { caseFileOf, JobNotRunnable, LocalCaseRunner, runJobTests, TESTS_DIR, type CaseResult, type TestCase } from '../../jobtests';
import { Config } from '../config';
import type { Ctx } from '../ctx';
import { trustError } from '../trust';
import { failureMessages } from './testMessages';
import { JobTestTree, type JobEntry } from './testTree';

/** Files of a build land in a few writes: wait this long after the last one before re-running. */
const CONTINUOUS_DEBOUNCE_MS = 300;
const RUNNER_WORKERS = 2;

/** One finished case, for tests and the log. */
export interface CaseReport {
  job: string;
  name: string;
  passed: boolean;
  durationMs: number;
  messages: string[];
  /** Expected and actual of each diff message, as shown. */
  diffs: { expected: string; actual: string }[];
}

export class JobTestController implements vscode.Disposable {
  readonly controller: vscode.TestController;
  readonly tree: JobTestTree;
  readonly runProfile: vscode.TestRunProfile;
  private runner: LocalCaseRunner | undefined;
  private readonly finished = new vscode.EventEmitter<CaseReport[]>();
  /** Fires after each test run (continuous ones included) with its cases' verdicts. */
  readonly onDidFinishRun = this.finished.event;
  private readonly disposables: vscode.Disposable[] = [];
  private watching = 0;

  constructor(private readonly ctx: Ctx) {
    this.controller = vscode.tests.createTestController('serval.jobTests', 'Serval Job Tests');
    this.tree = new JobTestTree(this.controller);
    this.controller.resolveHandler = async (item) => {
      if (!item) await this.tree.discoverAll();
    };
    this.controller.refreshHandler = () => this.tree.rediscover();
    this.runProfile = this.controller.createRunProfile('Run', vscode.TestRunProfileKind.Run, (request, token) => this.handle(request, token), true, undefined, true);
    this.disposables.push(
      this.controller,
      this.tree,
      this.finished,
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (Config.affectsLocalAgentLimits(event)) void this.closeRunner();
      }),
    );
  }

  /** Continuous runs in progress (the user has not stopped them). */
  get continuousRuns(): number {
    return this.watching;
  }

  private handle(request: vscode.TestRunRequest, token: vscode.CancellationToken): Promise<void> {
    return request.continuous ? this.watch(request, token) : this.runOnce(request, token).then(() => undefined);
  }

  /** Runs what the request includes (everything when it names nothing), minus what it excludes. */
  async runOnce(request: vscode.TestRunRequest, token?: vscode.CancellationToken): Promise<CaseReport[]> {
    await this.tree.discoverAll();
    const plan = this.plan(request);
    const run = this.controller.createTestRun(request, undefined, true);
    const abort = new AbortController();
    const cancelled = token?.onCancellationRequested(() => abort.abort(new vscode.CancellationError()));
    const reports: CaseReport[] = [];
    try {
      for (const { entry, cases } of plan) for (const testCase of cases) run.enqueued(this.tree.caseItem(entry, testCase)!);
      for (const { entry, cases } of plan) {
        if (abort.signal.aborted) break;
        reports.push(...(await this.runJob(run, entry, cases, abort.signal)));
      }
    } finally {
      cancelled?.dispose();
      run.end();
    }
    this.finished.fire(reports);
    return reports;
  }

  private plan(request: vscode.TestRunRequest): { entry: JobEntry; cases: TestCase[] }[] {
    const excluded = new Set(request.exclude ?? []);
    const byJob = new Map<JobEntry, Set<TestCase>>();
    const add = (entry: JobEntry, cases: readonly TestCase[]) => {
      const set = byJob.get(entry) ?? new Set<TestCase>();
      for (const testCase of cases) if (!excluded.has(this.tree.caseItem(entry, testCase)!)) set.add(testCase);
      byJob.set(entry, set);
    };
    if (!request.include) for (const entry of this.tree.entries()) if (!excluded.has(entry.item)) add(entry, entry.job.cases);
    for (const item of request.include ?? []) {
      const entry = this.tree.entryOf(item);
      if (!entry || excluded.has(entry.item)) continue;
      const testCase = this.tree.caseOf(entry, item);
      add(entry, testCase ? [testCase] : entry.job.cases);
    }
    return [...byJob].filter(([, cases]) => cases.size > 0).map(([entry, cases]) => ({ entry, cases: entry.job.cases.filter((c) => cases.has(c)) }));
  }

  private async runJob(run: vscode.TestRun, entry: JobEntry, cases: TestCase[], signal: AbortSignal): Promise<CaseReport[]> {
    const reports: CaseReport[] = [];
    const label = entry.job.jobName ?? entry.item.label;
    try {
      // A case runs the workspace's .wasm: not in Restricted Mode, like Publish and Run (each case says why).
      if (!vscode.workspace.isTrusted) throw new JobNotRunnable(trustError('Running job tests').message);
      await runJobTests(entry.job, this.localRunner(), {
        cases,
        signal,
        onStart: (testCase) => run.started(this.tree.caseItem(entry, testCase)!),
        onResult: (result) => {
          reports.push(this.report(run, entry, result));
        },
      });
    } catch (error) {
      if (signal.aborted) {
        for (const testCase of cases.slice(reports.length)) run.skipped(this.tree.caseItem(entry, testCase)!);
        return reports;
      }
      const message = error instanceof JobNotRunnable ? error.message : `the cases could not run: ${error instanceof Error ? error.message : String(error)}`;
      if (!(error instanceof JobNotRunnable)) this.ctx.log.error(`job tests of ${label}: ${error instanceof Error ? (error.stack ?? message) : message}`);
      for (const testCase of cases.slice(reports.length)) {
        run.errored(this.tree.caseItem(entry, testCase)!, new vscode.TestMessage(message));
        reports.push({ job: label, name: testCase.name, passed: false, durationMs: 0, messages: [message], diffs: [] });
      }
    }
    return reports;
  }

  private report(run: vscode.TestRun, entry: JobEntry, result: CaseResult): CaseReport {
    const item = this.tree.caseItem(entry, result.testCase)!;
    const { verdict } = result;
    const label = entry.job.jobName ?? entry.item.label;
    if (verdict.passed) {
      run.passed(item, verdict.durationMs);
      return { job: label, name: result.testCase.name, passed: true, durationMs: verdict.durationMs, messages: [], diffs: [] };
    }
    const messages = failureMessages(result);
    // The Test Results panel's output: what went wrong, in the terminal's line endings.
    const text = messages.map((message) => (typeof message.message === 'string' ? message.message : message.message.value));
    run.appendOutput(`${label}/${result.testCase.name}: ${text.join('\n')}\n`.replace(/\r?\n/g, '\r\n'), undefined, item);
    // A case that could not run at all (bad case file, missing feature) is an error, not a wrong answer.
    if (verdict.mismatches.length === 0 && (verdict.outcome === undefined || verdict.outcome.kind === 'not-run')) run.errored(item, messages, verdict.durationMs);
    else run.failed(item, messages, verdict.durationMs);
    const diffs = messages.flatMap((message) => (message.expectedOutput === undefined ? [] : [{ expected: message.expectedOutput, actual: message.actualOutput ?? '' }]));
    return { job: label, name: result.testCase.name, passed: false, durationMs: verdict.durationMs, messages: text, diffs };
  }

  /**
   * Continuous run: the cases of the request re-run when their job's .wasm or manifest changes
   * (every case of the job) or a case file changes (that case), debounced, one run at a time,
   * with at most one run pending, until the user stops it.
   */
  private watch(request: vscode.TestRunRequest, token: vscode.CancellationToken): Promise<void> {
    this.watching++;
    return new Promise((resolve) => {
      const pending = new Map<string, Set<string> | 'all'>();
      let timer: NodeJS.Timeout | undefined;
      let running: Promise<unknown> | undefined;
      const flush = async () => {
        timer = undefined;
        if (running || token.isCancellationRequested) return;
        const include = this.continuousItems(request, pending);
        pending.clear();
        if (include.length === 0) return;
        running = this.runOnce(new vscode.TestRunRequest(include, request.exclude, request.profile, true), token).catch((error: unknown) =>
          this.ctx.log.error(`continuous job tests: ${String(error)}`),
        );
        await running;
        running = undefined;
        if (pending.size > 0) flush_();
      };
      const flush_ = () => {
        clearTimeout(timer);
        timer = setTimeout(() => void flush(), CONTINUOUS_DEBOUNCE_MS);
      };
      const listener = this.tree.onDidChangeJobFile(({ manifestPath, file }) => {
        const caseName = caseNameOf(manifestPath, file);
        const current = pending.get(manifestPath);
        if (caseName === undefined || current === 'all') pending.set(manifestPath, 'all');
        else pending.set(manifestPath, (current ?? new Set()).add(caseName));
        flush_();
      });
      token.onCancellationRequested(() => {
        listener.dispose();
        clearTimeout(timer);
        this.watching--;
        resolve();
      });
    });
  }

  /** The items to re-run for the changes gathered, within what the continuous request covers. */
  private continuousItems(request: vscode.TestRunRequest, changes: Map<string, Set<string> | 'all'>): vscode.TestItem[] {
    const covered = (item: vscode.TestItem) => {
      if (!request.include) return true;
      for (let node: vscode.TestItem | undefined = item; node; node = node.parent) if (request.include.includes(node)) return true;
      return false;
    };
    const items: vscode.TestItem[] = [];
    for (const entry of this.tree.entries()) {
      const change = changes.get(entry.job.manifestPath);
      if (!change) continue;
      for (const testCase of entry.job.cases) {
        const item = this.tree.caseItem(entry, testCase);
        if (item && (change === 'all' || change.has(testCase.name)) && covered(item)) items.push(item);
      }
    }
    return items;
  }

  private localRunner(): LocalCaseRunner {
    this.runner ??= new LocalCaseRunner(
      { ...DEFAULT_JOB_LIMITS, timeoutMs: this.ctx.config.jobTimeoutMs, memoryBytes: this.ctx.config.jobMemoryMb * 1024 * 1024 },
      RUNNER_WORKERS,
      false,
    );
    return this.runner;
  }

  /** The limits changed: the next run starts a runner with the new ones. */
  private async closeRunner(): Promise<void> {
    const runner = this.runner;
    this.runner = undefined;
    await runner?.close();
  }

  dispose(): void {
    void this.closeRunner();
    for (const disposable of this.disposables.splice(0).reverse()) disposable.dispose();
  }
}

/** The case a file in tests/ belongs to; undefined for the manifest, the .wasm or tests.toml (the whole job). */
function caseNameOf(manifestPath: string, file: string): string | undefined {
  if (path.dirname(file) !== path.join(path.dirname(manifestPath), TESTS_DIR)) return undefined;
  return caseFileOf(path.basename(file))?.name;
}

export function registerJobTests(ctx: Ctx): JobTestController {
  return ctx.push(new JobTestController(ctx));
}
