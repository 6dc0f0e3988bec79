/**
 * Serval: New Job Manifest… creates `manifest.toml` in a folder (the explorer's, or one the user
 * picks), never over an existing file, opens it and starts the manifest snippet, so the user tabs
 * through name, namespace, version, binary and description.
 */
import * as vscode from 'vscode';

const EXTENSION_ID = 'serval.serval-vscode';
const SNIPPET_FILE = 'snippets/manifest.code-snippets';
const SNIPPET_NAME = 'Serval job manifest';

export async function newManifest(folder?: vscode.Uri): Promise<void> {
  const target = folder ?? (await pickFolder());
  if (target === undefined) {
    return; // the user cancelled
  }
  const uri = vscode.Uri.joinPath(target, 'manifest.toml');
  if (await exists(uri)) {
    offerToOpen(uri); // not awaited: the command is done, the message waits for the user
    return;
  }
  const body = await manifestSnippet();
  await vscode.workspace.fs.writeFile(uri, new Uint8Array());
  const editor = await vscode.window.showTextDocument(uri);
  await editor.insertSnippet(new vscode.SnippetString(body), new vscode.Position(0, 0));
}

function offerToOpen(uri: vscode.Uri): void {
  const open = 'Open It';
  const message = `${vscode.workspace.asRelativePath(uri)} already exists; Serval does not overwrite it.`;
  void vscode.window.showWarningMessage(message, open).then(async (choice) => {
    if (choice === open) await vscode.window.showTextDocument(uri);
  });
}

async function pickFolder(): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({
    canSelectFiles: false,
    canSelectFolders: true,
    canSelectMany: false,
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
    openLabel: 'Create manifest.toml Here',
    title: 'Folder of the New Job Manifest',
  });
  return picked?.[0];
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch (error) {
    if (error instanceof vscode.FileSystemError && error.code === 'FileNotFound') return false;
    throw error;
  }
}

/** The body of the manifest snippet the extension contributes: one template, two entry points. */
async function manifestSnippet(): Promise<string> {
  const extension = vscode.extensions.getExtension(EXTENSION_ID);
  if (extension === undefined) {
    throw new Error(`extension ${EXTENSION_ID} is not installed`);
  }
  const bytes = await vscode.workspace.fs.readFile(vscode.Uri.joinPath(extension.extensionUri, SNIPPET_FILE));
  const snippets = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, { body: string | string[] }>;
  const body = snippets[SNIPPET_NAME].body;
  return Array.isArray(body) ? body.join('\n') : body;
}
