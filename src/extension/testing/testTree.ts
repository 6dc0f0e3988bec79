/**
 * The Test Explorer's items: one per job (its manifest.toml, at its `name` line) and one per case
 * (at its expected file), kept in step with the files by a watcher.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { discoverJobTests, MANIFEST_FILE, TESTS_DIR, type JobTests, type TestCase } from '../../jobtests';
import { locateKeys } from '../../manifest';

/** What a job item stands for; cases are looked up in `job.cases` by the item's label. */
export interface JobEntry {
  item: vscode.TestItem;
  job: JobTests;
}

const MANIFEST_GLOB = `**/${MANIFEST_FILE}`;
const EXCLUDE_GLOB = '**/{node_modules,.git}/**';

export class JobTestTree implements vscode.Disposable {
  /** By manifest path. */
  private readonly jobs = new Map<string, JobEntry>();
  private readonly changed = new vscode.EventEmitter<{ manifestPath: string; file: string }>();
  /** Fires after a file of a job changed (its manifest, a case file, its .wasm) and the items were refreshed. */
  readonly onDidChangeJobFile = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private discovering: Promise<void> | undefined;
  /** Manifests seen by the last search (or since): what rediscover() keeps. */
  private readonly found = new Set<string>();

  constructor(private readonly controller: vscode.TestController) {
    const watcher = vscode.workspace.createFileSystemWatcher(`**/{${MANIFEST_FILE},${TESTS_DIR}/*,*.wasm}`);
    this.disposables.push(
      watcher,
      watcher.onDidCreate((uri) => this.onFile(uri)),
      watcher.onDidChange((uri) => this.onFile(uri)),
      watcher.onDidDelete((uri) => this.onFile(uri)),
    );
  }

  /** Finds every manifest of the workspace (once; later calls wait for the same search). */
  discoverAll(): Promise<void> {
    this.discovering ??= (async () => {
      const manifests = await vscode.workspace.findFiles(MANIFEST_GLOB, EXCLUDE_GLOB);
      await Promise.all(manifests.map((uri) => this.refreshJob(uri.fsPath)));
    })();
    return this.discovering;
  }

  /** Searches the workspace again: items of manifests that went away are removed. */
  async rediscover(): Promise<void> {
    this.discovering = undefined;
    const before = new Set(this.jobs.keys());
    await this.discoverAll();
    for (const manifestPath of before) if (!this.found.has(manifestPath)) this.remove(manifestPath);
  }

  entries(): JobEntry[] {
    return [...this.jobs.values()];
  }

  entryOf(item: vscode.TestItem): JobEntry | undefined {
    let top = item;
    while (top.parent) top = top.parent;
    return [...this.jobs.values()].find((entry) => entry.item === top);
  }

  caseOf(entry: JobEntry, item: vscode.TestItem): TestCase | undefined {
    return item === entry.item ? undefined : entry.job.cases.find((testCase) => caseId(entry.job, testCase) === item.id);
  }

  caseItem(entry: JobEntry, testCase: TestCase): vscode.TestItem | undefined {
    return entry.item.children.get(caseId(entry.job, testCase));
  }

  /** Re-reads one manifest and its tests/ folder; removes its item when the manifest is gone. */
  async refreshJob(manifestPath: string): Promise<JobEntry | undefined> {
    let job: JobTests;
    let manifestText: string;
    try {
      manifestText = Buffer.from(await vscode.workspace.fs.readFile(vscode.Uri.file(manifestPath))).toString('utf8');
      job = await discoverJobTests(manifestPath);
    } catch {
      this.remove(manifestPath);
      return undefined;
    }
    this.found.add(manifestPath);
    const entry = this.jobs.get(manifestPath) ?? { item: this.jobItem(manifestPath), job };
    entry.job = job;
    this.jobs.set(manifestPath, entry);
    this.describeJobItem(entry.item, job, manifestText);
    entry.item.children.replace(job.cases.map((testCase) => this.newCaseItem(job, testCase)));
    // A job without tests/ stays out of the Test Explorer (the watcher still follows it): most jobs
    // of a workspace may have none, and empty rows would bury the ones that do.
    if (job.cases.length === 0) this.controller.items.delete(entry.item.id);
    else if (!this.controller.items.get(entry.item.id)) this.controller.items.add(entry.item);
    return entry;
  }

  private jobItem(manifestPath: string): vscode.TestItem {
    return this.controller.createTestItem(vscode.Uri.file(manifestPath).toString(), path.basename(path.dirname(manifestPath)), vscode.Uri.file(manifestPath));
  }

  private describeJobItem(item: vscode.TestItem, job: JobTests, manifestText: string): void {
    item.label = job.jobName ?? path.basename(path.dirname(job.manifestPath));
    item.description = path.basename(path.dirname(job.manifestPath));
    item.error = job.problem;
    const nameKey = locateKeys(manifestText.replace(/^\uFEFF/, '')).get('name');
    const line = nameKey?.keyRange.line ?? 0;
    item.range = new vscode.Range(line, 0, line, 0);
  }

  private newCaseItem(job: JobTests, testCase: TestCase): vscode.TestItem {
    const file = testCase.files.out ?? testCase.files.err ?? testCase.files.exit ?? testCase.files.in ?? Object.values(testCase.files)[0]!;
    const item = this.controller.createTestItem(caseId(job, testCase), testCase.name, vscode.Uri.file(file));
    item.range = new vscode.Range(0, 0, 0, 0);
    item.description = Object.keys(testCase.files).map((kind) => `.${kind}`).join(' ');
    return item;
  }

  private remove(manifestPath: string): void {
    const entry = this.jobs.get(manifestPath);
    if (!entry) return;
    this.controller.items.delete(entry.item.id);
    this.jobs.delete(manifestPath);
    this.found.delete(manifestPath);
  }

  /** A manifest, case file or .wasm changed: refresh the job it belongs to, then tell the continuous runs. */
  private async onFile(uri: vscode.Uri): Promise<void> {
    const file = uri.fsPath;
    const owners = this.ownersOf(file);
    for (const manifestPath of owners) {
      await this.refreshJob(manifestPath);
      this.changed.fire({ manifestPath, file });
    }
  }

  private ownersOf(file: string): string[] {
    const name = path.basename(file);
    if (name === MANIFEST_FILE) return [file];
    const dir = path.dirname(file);
    if (path.basename(dir) === TESTS_DIR) return [path.join(path.dirname(dir), MANIFEST_FILE)];
    if (name.endsWith('.wasm')) return this.entries().filter((entry) => entry.job.binaryPath === file).map((entry) => entry.job.manifestPath);
    return [];
  }

  dispose(): void {
    for (const disposable of this.disposables.splice(0)) disposable.dispose();
  }
}

function caseId(job: JobTests, testCase: TestCase): string {
  return `${vscode.Uri.file(job.manifestPath).toString()}#${testCase.name}`;
}
