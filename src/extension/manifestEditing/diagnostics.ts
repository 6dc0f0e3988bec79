/**
 * Manifest diagnostics: one DiagnosticCollection ('serval'), fed by the core's checkManifest and,
 * when `serval.manifest.validateBinary` is on, checkBinary. Re-checks as the user types (debounced
 * per document), when a `.wasm` in the workspace changes, and when the setting changes; clears a
 * document's diagnostics when it closes. Other files cost nothing: they are never read.
 */
import * as vscode from 'vscode';
import type { ExtensionInfo } from '../../api/contract';
import { checkBinary, checkExtensionsAvailable, checkFiles, checkManifest, type ManifestCheck } from '../../manifest';
import { Problem, Severity } from '../../manifest/types';
import { isManifestDocument, toRange } from './documents';

const DEBOUNCE_MS = 200;
const VALIDATE_BINARY_SETTING = 'serval.manifest.validateBinary';

const SEVERITY: Record<Severity, vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};

/** The connected agent as manifest checks see it: its extensions, and its name for messages. */
export interface AgentExtensionsView {
  extensions(): Promise<readonly ExtensionInfo[]>;
  label(): string;
}

/** A problem with the diagnostic shown for it, so quick fixes can find the problem again. */
export interface ShownProblem {
  problem: Problem;
  diagnostic: vscode.Diagnostic;
}

export class ManifestDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('serval');
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly shown = new Map<string, ShownProblem[]>();
  /** The document version whose problems are shown, so a re-check of the same text does not flicker. */
  private readonly shownVersion = new Map<string, number>();
  private readonly disposables: vscode.Disposable[] = [this.collection];

  constructor(
    private readonly log: vscode.LogOutputChannel,
    private readonly agent?: AgentExtensionsView,
  ) {
    const wasmWatcher = vscode.workspace.createFileSystemWatcher('**/*.wasm');
    const recheckForBinary = (): void => {
      if (validateBinary()) this.checkAllOpen(true);
    };
    this.disposables.push(
      wasmWatcher,
      wasmWatcher.onDidCreate(recheckForBinary),
      wasmWatcher.onDidChange(recheckForBinary),
      wasmWatcher.onDidDelete(recheckForBinary),
      vscode.workspace.onDidOpenTextDocument((document) => this.check(document)),
      vscode.workspace.onDidChangeTextDocument((event) => this.schedule(event.document)),
      vscode.workspace.onDidCloseTextDocument((document) => this.forget(document.uri)),
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration(VALIDATE_BINARY_SETTING)) this.checkAllOpen(false);
      }),
    );
    this.checkAllOpen(false);
  }

  /** The problems shown for a document, each with its diagnostic (for code actions). */
  problemsOf(uri: vscode.Uri): readonly ShownProblem[] {
    return this.shown.get(uri.toString()) ?? [];
  }

  private checkAllOpen(debounced: boolean): void {
    for (const document of vscode.workspace.textDocuments) {
      if (debounced) this.schedule(document);
      else this.check(document);
    }
  }

  /** Coalesces bursts of edits: only the text as it is 200 ms after the last keystroke is checked. */
  private schedule(document: vscode.TextDocument): void {
    if (!isManifestDocument(document)) {
      this.forgetIfShown(document.uri); // e.g. a `#:schema` line was removed
      return;
    }
    const key = document.uri.toString();
    clearTimeout(this.pending.get(key));
    this.pending.set(key, setTimeout(() => this.check(document), DEBOUNCE_MS));
  }

  private check(document: vscode.TextDocument): void {
    this.pending.delete(document.uri.toString());
    if (document.isClosed || !isManifestDocument(document)) {
      this.forgetIfShown(document.uri);
      return;
    }
    this.checkNow(document).catch((error: unknown) => {
      this.log.error(`Checking ${document.uri.fsPath} failed:`, error);
    });
  }

  private async checkNow(document: vscode.TextDocument): Promise<void> {
    const version = document.version;
    const text = document.getText();
    const check = checkManifest(text);
    // Edited text: its problems at once, the binary's, files' and agent's follow. A re-check of the
    // same text (a .wasm was rebuilt) keeps what is shown until the new verdict, so the binary's
    // problem and its quick fixes never vanish for a moment.
    if (this.shownVersion.get(document.uri.toString()) !== version) this.show(document, check.problems);
    const later: Problem[] = [];
    if (validateBinary() && document.uri.scheme === 'file') {
      later.push(...(await checkBinary(document.uri.fsPath, text, check)), ...(await checkFiles(document.uri.fsPath, text, check)));
    }
    later.push(...(await this.extensionProblems(text, check)));
    if (document.version === version && !document.isClosed) {
      this.show(document, [...check.problems, ...later]);
      this.shownVersion.set(document.uri.toString(), version);
    }
  }

  /** Declared extensions the connected agent lacks; nothing when it cannot say (it is down, or old). */
  private async extensionProblems(text: string, check: ManifestCheck): Promise<Problem[]> {
    if (!this.agent || (check.manifest?.required_extensions.length ?? 0) === 0) return [];
    try {
      return checkExtensionsAvailable(text, check, await this.agent.extensions(), this.agent.label());
    } catch (error) {
      this.log.debug(`Could not list the agent's extensions: ${String(error)}`);
      return [];
    }
  }

  private show(document: vscode.TextDocument, problems: readonly Problem[]): void {
    const shown = problems.map((problem) => ({ problem, diagnostic: toDiagnostic(document, problem) }));
    this.shown.set(document.uri.toString(), shown);
    this.collection.set(document.uri, shown.map((entry) => entry.diagnostic));
  }

  private forgetIfShown(uri: vscode.Uri): void {
    if (this.shown.has(uri.toString())) this.forget(uri);
  }

  private forget(uri: vscode.Uri): void {
    const key = uri.toString();
    clearTimeout(this.pending.get(key));
    this.pending.delete(key);
    this.shown.delete(key);
    this.shownVersion.delete(key);
    this.collection.delete(uri);
  }

  dispose(): void {
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
    for (const disposable of this.disposables) disposable.dispose();
  }
}

function validateBinary(): boolean {
  return vscode.workspace.getConfiguration().get<boolean>(VALIDATE_BINARY_SETTING, true);
}

function toDiagnostic(document: vscode.TextDocument, problem: Problem): vscode.Diagnostic {
  const diagnostic = new vscode.Diagnostic(toRange(document, problem.range), problem.message, SEVERITY[problem.severity]);
  diagnostic.code = problem.code;
  diagnostic.source = 'serval';
  return diagnostic;
}
