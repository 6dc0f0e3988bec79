/**
 * Completion, hover, quick fixes and CodeLens for manifests: thin adapters that hand the text to the
 * pure code in src/manifest and convert its data to VS Code objects.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { CompletionEntry, CompletionEntryKind, completeManifest, keyLineAt, scanKeyLines } from '../../manifest/completion';
import { checkManifest, fullyQualifiedName } from '../../manifest';
import { QuickFix, quickFixes } from '../../manifest/fixes';
import { BinaryFacts, binaryFactsOf, binaryUnderCursor, hoverManifest } from '../../manifest/hover';
import { Config } from '../config';
import { extensionMarkdown, extensionUnderCursor } from '../../manifest/extensionsCheck';
import { type AgentExtensionsView, ManifestDiagnostics } from './diagnostics';
import { folderName, isManifestDocument, listWasmFiles, toRange } from './documents';

const COMPLETION_KIND: Record<CompletionEntryKind, vscode.CompletionItemKind> = {
  key: vscode.CompletionItemKind.Property,
  version: vscode.CompletionItemKind.Value,
  file: vscode.CompletionItemKind.File,
  permission: vscode.CompletionItemKind.EnumMember,
  snippet: vscode.CompletionItemKind.Snippet,
};

export class ManifestCompletionProvider implements vscode.CompletionItemProvider {
  static readonly triggerCharacters = ['"', '[', '='];

  async provideCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    token: vscode.CancellationToken,
  ): Promise<vscode.CompletionItem[] | undefined> {
    if (!isManifestDocument(document)) {
      return undefined;
    }
    const text = document.getText();
    const onBinary = keyLineAt(scanKeyLines(text), position.line)?.key === 'binary';
    const wasmFiles = onBinary ? await listWasmFiles(document, token) : [];
    const entries = completeManifest({ text, line: position.line, column: position.character, wasmFiles });
    return entries.map((entry) => toCompletionItem(document, entry));
  }
}

function toCompletionItem(document: vscode.TextDocument, entry: CompletionEntry): vscode.CompletionItem {
  const item = new vscode.CompletionItem(entry.label, COMPLETION_KIND[entry.kind]);
  item.detail = entry.detail;
  item.documentation = entry.documentation !== undefined ? new vscode.MarkdownString(entry.documentation) : undefined;
  item.insertText = new vscode.SnippetString(entry.insertSnippet);
  item.range = toRange(document, entry.range);
  item.filterText = entry.filterText;
  item.sortText = entry.sortText;
  item.preselect = entry.preselect;
  return item;
}

export class ManifestHoverProvider implements vscode.HoverProvider {
  constructor(private readonly agent?: AgentExtensionsView) {}

  async provideHover(document: vscode.TextDocument, position: vscode.Position): Promise<vscode.Hover | undefined> {
    if (!isManifestDocument(document)) {
      return undefined;
    }
    const text = document.getText();
    const extension = this.agent && extensionUnderCursor(text, position.line, position.character);
    if (extension && this.agent) {
      const list = await this.agent.extensions().catch(() => undefined);
      if (list) {
        const markdown = extensionMarkdown(extension.name, list.find((e) => e.name === extension.name), this.agent.label());
        return new vscode.Hover(new vscode.MarkdownString(markdown), toRange(document, extension.range));
      }
    }
    const written = binaryUnderCursor(text, position.line);
    const binary = written !== undefined && document.uri.scheme === 'file' ? await readBinaryFacts(document, written) : undefined;
    const result = hoverManifest({ text, line: position.line, column: position.character, binary });
    if (result === undefined) {
      return undefined;
    }
    const contents = result.markdown.map((markdown) => new vscode.MarkdownString(markdown, true));
    return new vscode.Hover(contents, result.range && toRange(document, result.range));
  }
}

/** Path, size, exports and imports of the module `binary` points at, or why it can't be read. */
async function readBinaryFacts(document: vscode.TextDocument, written: string): Promise<BinaryFacts> {
  const resolvedPath = path.resolve(path.dirname(document.uri.fsPath), written);
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(resolvedPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { resolvedPath, error: code === 'ENOENT' ? 'No such file: build the job first, or fix the path.' : `Cannot read it (${code ?? String(error)}).` };
  }
  return binaryFactsOf(resolvedPath, bytes);
}

export class ManifestCodeActionProvider implements vscode.CodeActionProvider {
  static readonly metadata: vscode.CodeActionProviderMetadata = {
    providedCodeActionKinds: [vscode.CodeActionKind.QuickFix],
  };

  constructor(private readonly diagnostics: ManifestDiagnostics) {}

  async provideCodeActions(
    document: vscode.TextDocument,
    _range: vscode.Range,
    context: vscode.CodeActionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.CodeAction[]> {
    const requested = context.diagnostics.filter((diagnostic) => diagnostic.source === 'serval');
    if (requested.length === 0 || !isManifestDocument(document)) {
      return [];
    }
    const shown = this.diagnostics
      .problemsOf(document.uri)
      .filter(({ diagnostic }) => requested.some((wanted) => sameDiagnostic(wanted, diagnostic)));
    const needsWasmFiles = shown.some(({ problem }) => problem.key === 'binary');
    const wasmFiles = needsWasmFiles ? await listWasmFiles(document, token) : [];
    const text = document.getText();
    return shown.flatMap(({ problem, diagnostic }) =>
      quickFixes({ text, problem, wasmFiles, folderName: folderName(document) }).map((fix) =>
        toCodeAction(document, fix, diagnostic),
      ),
    );
  }
}

/** Diagnostics come back to providers as copies, so they are matched by what they say and where. */
function sameDiagnostic(a: vscode.Diagnostic, b: vscode.Diagnostic): boolean {
  return a.code === b.code && a.message === b.message && a.range.isEqual(b.range);
}

function toCodeAction(document: vscode.TextDocument, fix: QuickFix, diagnostic: vscode.Diagnostic): vscode.CodeAction {
  const action = new vscode.CodeAction(fix.title, vscode.CodeActionKind.QuickFix);
  action.diagnostics = [diagnostic];
  action.isPreferred = fix.isPreferred;
  action.edit = new vscode.WorkspaceEdit();
  for (const edit of fix.edits) {
    const start = new vscode.Position(edit.start.line, edit.start.column);
    const end = new vscode.Position(edit.end.line, edit.end.column);
    action.edit.replace(document.uri, new vscode.Range(start, end), edit.newText);
  }
  return action;
}

/**
 * "Publish" and "Run on…" above the first line of a manifest, unless `serval.codeLens.enabled` is
 * off. "Run on…" offers this manifest's job first and asks for the input file: the manifest itself
 * is never the input.
 */
export class ManifestCodeLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly isEnabled: () => boolean) {
    this.subscription = vscode.workspace.onDidChangeConfiguration((event) => {
      if (Config.affectsCodeLens(event)) this.changed.fire();
    });
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    if (!this.isEnabled() || !isManifestDocument(document)) {
      return [];
    }
    const top = new vscode.Range(0, 0, 0, 0);
    const manifest = checkManifest(document.getText()).manifest;
    const job = manifest ? fullyQualifiedName(manifest.namespace, manifest.name) : undefined;
    return [
      new vscode.CodeLens(top, {
        title: '$(cloud-upload) Publish',
        tooltip: 'Publish this job (manifest and binary) to the agent',
        command: 'serval.publish',
        arguments: [document.uri],
      }),
      new vscode.CodeLens(top, {
        title: '$(play) Run on…',
        tooltip: job ? `Run ${job} on a file you choose` : 'Run a stored job on a file you choose',
        command: 'serval.runOnActiveFile',
        arguments: [{ preselect: job, askForInput: true }],
      }),
    ];
  }
}
