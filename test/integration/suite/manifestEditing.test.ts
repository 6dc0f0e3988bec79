/**
 * Manifest editing in a real VS Code: diagnostics in the Problems panel, completion, hover, quick
 * fixes, CodeLens and New Job Manifest, driven through the same commands the editor uses. Each test
 * writes its manifests into a fresh folder of the (temporary) samples workspace.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

import { waitFor } from './util';

const GOOD = [
  'name = "loudify"',
  'namespace = "sh.serval"',
  'version = "1.0.0"',
  'binary = "../loudify/loudify.wasm"',
  'description = "Upper-cases its input."',
  '',
].join('\n');

function workspaceRoot(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the tests need the samples workspace open');
  return folder.uri.fsPath;
}

let folderCount = 0;
/** A new folder next to the samples, so `../loudify/loudify.wasm` exists and findFiles sees it. */
function newFolder(): string {
  const folder = path.join(workspaceRoot(), `editing-test-${process.pid}-${folderCount++}`);
  fs.mkdirSync(folder, { recursive: true });
  return folder;
}

async function openManifest(text: string, fileName = 'manifest.toml'): Promise<vscode.TextDocument> {
  const file = path.join(newFolder(), fileName);
  fs.writeFileSync(file, text);
  const document = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
  await vscode.window.showTextDocument(document);
  return document;
}

function servalDiagnostics(uri: vscode.Uri): vscode.Diagnostic[] {
  return vscode.languages.getDiagnostics(uri).filter((diagnostic) => diagnostic.source === 'serval');
}

/** Waits until the document's serval diagnostics satisfy `ready` (they arrive after a debounce). */
async function diagnosticsWhen(
  uri: vscode.Uri,
  ready: (diagnostics: vscode.Diagnostic[]) => boolean,
  message: string,
): Promise<vscode.Diagnostic[]> {
  return waitFor(() => {
    const diagnostics = servalDiagnostics(uri);
    return ready(diagnostics) ? diagnostics : undefined;
  }, { message });
}

function codeOf(diagnostic: vscode.Diagnostic): string {
  return String(typeof diagnostic.code === 'object' ? diagnostic.code.value : diagnostic.code);
}

function byCode(diagnostics: vscode.Diagnostic[], code: string): vscode.Diagnostic {
  const found = diagnostics.find((diagnostic) => codeOf(diagnostic) === code);
  assert.ok(found, `no ${code} diagnostic among: ${diagnostics.map((d) => `${codeOf(d)}: ${d.message}`).join('; ')}`);
  return found;
}

function rangeOf(range: vscode.Range): [number, number, number, number] {
  return [range.start.line, range.start.character, range.end.line, range.end.character];
}

function hoverText(hovers: vscode.Hover[]): string {
  return hovers
    .flatMap((hover) => hover.contents)
    .map((content) => (typeof content === 'string' ? content : content.value))
    .join('\n\n');
}

async function completionLabels(document: vscode.TextDocument, position: vscode.Position): Promise<string[]> {
  const list = await vscode.commands.executeCommand<vscode.CompletionList>(
    'vscode.executeCompletionItemProvider',
    document.uri,
    position,
  );
  return list.items.map((item) => (typeof item.label === 'string' ? item.label : item.label.label));
}

describe('manifest editing', function () {
  this.timeout(60_000);

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    for (const entry of fs.readdirSync(workspaceRoot())) {
      if (entry.startsWith(`editing-test-${process.pid}-`)) fs.rmSync(path.join(workspaceRoot(), entry), { recursive: true, force: true });
    }
  });

  it('treats .toml files as TOML', async () => {
    const document = await openManifest(GOOD);
    assert.equal(document.languageId, 'toml');
  });

  it('reports every problem at its exact range, with code, source and severity', async () => {
    const document = await openManifest(GOOD.replace('"loudify"', '"Loud ify"') + 'colour = "red"\n');
    const diagnostics = await diagnosticsWhen(document.uri, (all) => all.length >= 2, 'the name and unknown-key diagnostics');
    const name = byCode(diagnostics, 'invalid-name');
    assert.equal(name.severity, vscode.DiagnosticSeverity.Error);
    assert.match(name.message, /name must be 1-64 characters of A-Z a-z 0-9 _ -; 'Loud ify' has a space/);
    assert.deepEqual(rangeOf(name.range), [0, 7, 0, 17]);
    const unknown = byCode(diagnostics, 'unknown-key');
    assert.equal(unknown.severity, vscode.DiagnosticSeverity.Warning);
    assert.deepEqual(rangeOf(unknown.range), [5, 0, 5, 6]);
    assert.equal(diagnostics.length, 2, diagnostics.map((d) => d.message).join('; '));
  });

  it('reports a TOML syntax error where it is', async () => {
    const document = await openManifest(GOOD.replace('version = "1.0.0"', 'version = "1.0.0'));
    const [syntax] = await diagnosticsWhen(document.uri, (all) => all.length > 0, 'a syntax diagnostic');
    assert.equal(codeOf(syntax), 'toml-syntax');
    assert.equal(syntax.severity, vscode.DiagnosticSeverity.Error);
    assert.equal(syntax.range.start.line, 2);
  });

  it('reports a binary that does not exist, with its resolved path', async () => {
    const document = await openManifest(GOOD.replace('../loudify/loudify.wasm', 'build/missing.wasm'));
    const diagnostics = await diagnosticsWhen(document.uri, (all) => all.length > 0, 'the binary diagnostic');
    const missing = byCode(diagnostics, 'binary-not-found');
    assert.ok(missing.message.includes(path.join(path.dirname(document.uri.fsPath), 'build', 'missing.wasm')), missing.message);
    assert.deepEqual(rangeOf(missing.range), [3, 9, 3, 29]);
  });

  it('re-checks the binary when a .wasm appears in the workspace', async () => {
    const document = await openManifest(GOOD.replace('../loudify/loudify.wasm', 'late.wasm'));
    await diagnosticsWhen(document.uri, (all) => all.some((d) => codeOf(d) === 'binary-not-found'), 'binary-not-found');
    fs.copyFileSync(path.join(workspaceRoot(), 'loudify', 'loudify.wasm'), path.join(path.dirname(document.uri.fsPath), 'late.wasm'));
    await diagnosticsWhen(document.uri, (all) => all.length === 0, 'the diagnostics to clear once late.wasm exists');
  });

  it('updates diagnostics as the user types, and leaves other TOML files alone', async () => {
    const document = await openManifest(GOOD.replace('"sh.serval"', '"sh..serval"'));
    await diagnosticsWhen(document.uri, (all) => all.some((d) => codeOf(d) === 'invalid-namespace'), 'invalid-namespace');
    const edit = new vscode.WorkspaceEdit();
    edit.replace(document.uri, new vscode.Range(1, 12, 1, 24), '"sh.serval"');
    assert.ok(await vscode.workspace.applyEdit(edit));
    await diagnosticsWhen(document.uri, (all) => all.length === 0, 'the namespace diagnostic to go away');

    const other = await openManifest('name = "not a job"\n', 'Cargo.toml');
    const schema = await openManifest(
      '#:schema https://raw.githubusercontent.com/serval/serval-vscode/main/schemas/manifest.schema.json\nname = "x"\n',
      'job.toml',
    );
    await diagnosticsWhen(schema.uri, (all) => all.some((d) => codeOf(d) === 'missing-key'), 'missing keys in the #:schema file');
    assert.deepEqual(servalDiagnostics(other.uri), []);
  });

  it('completes missing keys with their docs, next versions and workspace binaries', async () => {
    const document = await openManifest('name = "loudify"\nversion = "1.0.0"\nbinary = ""\n\n');
    const keys = await completionLabels(document, new vscode.Position(3, 0));
    for (const key of ['namespace', 'description', 'required_permissions']) assert.ok(keys.includes(key), `${key} in ${keys}`);
    assert.ok(!keys.includes('name'), 'name is already there');

    const versions = await completionLabels(document, new vscode.Position(1, 16));
    for (const version of ['1.0.1', '1.1.0', '2.0.0']) assert.ok(versions.includes(version), `${version} in ${versions}`);

    const binaries = await completionLabels(document, new vscode.Position(2, 10));
    assert.ok(binaries.includes('../loudify/loudify.wasm'), `loudify.wasm in ${binaries}`);
  });

  it('hovers keys with their docs, the binary with its exports, and everywhere with the fq name', async () => {
    const document = await openManifest(GOOD.replace('"loudify"', '"Loud-ify"'));
    const onName = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', document.uri, new vscode.Position(0, 2)));
    assert.match(onName, /Name of the job/);
    assert.match(onName, /Fully-qualified name: `sh\.serval\.loud_ify`/);
    const onBinary = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', document.uri, new vscode.Position(3, 12)));
    assert.ok(onBinary.includes(path.join(workspaceRoot(), 'loudify', 'loudify.wasm')), onBinary);
    assert.match(onBinary, /Exports: .*`_start`/);
    assert.match(onBinary, /Imports: `wasi_snapshot_preview1`: /);
  });

  it('offers quick fixes, and applying one repairs the text', async () => {
    const document = await openManifest(GOOD.replace('name =', 'nmae ='));
    const diagnostics = await diagnosticsWhen(document.uri, (all) => all.some((d) => codeOf(d) === 'unknown-key'), 'unknown-key');
    const unknown = byCode(diagnostics, 'unknown-key');
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>(
      'vscode.executeCodeActionProvider',
      document.uri,
      unknown.range,
      vscode.CodeActionKind.QuickFix.value,
    );
    const rename = actions.find((action) => action.title === "Change 'nmae' to 'name'");
    assert.ok(rename?.edit, `actions: ${actions.map((action) => action.title).join('; ')}`);
    assert.equal(rename.isPreferred, true);
    assert.ok(await vscode.workspace.applyEdit(rename.edit));
    assert.equal(document.getText(), GOOD);
    await diagnosticsWhen(document.uri, (all) => all.length === 0, 'no problems after the fix');
  });

  it('fixes a missing key and a wrong binary', async () => {
    const document = await openManifest(GOOD.replace('namespace = "sh.serval"\n', '').replace('../loudify/loudify.wasm', 'loudfy.wasm'));
    const diagnostics = await diagnosticsWhen(document.uri, (all) => all.length >= 2, 'missing-key and binary-not-found');
    for (const code of ['missing-key', 'binary-not-found']) {
      const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>(
        'vscode.executeCodeActionProvider',
        document.uri,
        byCode(diagnostics, code).range,
        vscode.CodeActionKind.QuickFix.value,
      );
      const preferred = actions.find((action) => action.isPreferred);
      assert.ok(preferred?.edit, `no preferred fix for ${code}: ${actions.map((action) => action.title).join('; ')}`);
      assert.ok(await vscode.workspace.applyEdit(preferred.edit));
    }
    assert.equal(document.getText(), GOOD.replace('"sh.serval"', '"com.example"'));
  });

  it('shows Publish and Run on… above the manifest', async () => {
    const document = await openManifest(GOOD);
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', document.uri);
    assert.deepEqual(
      lenses.map((lens) => [lens.range.start.line, lens.command?.title, lens.command?.command]),
      [
        [0, '$(cloud-upload) Publish', 'serval.publish'],
        [0, '$(play) Run on…', 'serval.runOnActiveFile'],
      ],
    );
  });

  it('creates a new manifest from the snippet, and never overwrites one', async () => {
    const folder = path.join(newFolder(), 'wordcount');
    fs.mkdirSync(folder);
    await vscode.commands.executeCommand('serval.newManifest', vscode.Uri.file(folder));
    const editor = await waitFor(
      () => {
        const active = vscode.window.activeTextEditor;
        return active?.document.uri.fsPath === path.join(folder, 'manifest.toml') ? active : undefined;
      },
      { message: 'the new manifest to open' },
    );
    const text = editor.document.getText();
    assert.match(text, /^name = "wordcount"\nnamespace = "com\.example"\nversion = "0\.1\.0"\nbinary = "wordcount\.wasm"\n/);
    await editor.document.save();

    fs.writeFileSync(path.join(folder, 'manifest.toml'), 'name = "mine"\n');
    await vscode.commands.executeCommand('serval.newManifest', vscode.Uri.file(folder));
    assert.equal(fs.readFileSync(path.join(folder, 'manifest.toml'), 'utf8'), 'name = "mine"\n');
  });
});
