/**
 * Serval: New Job Manifest… creates `manifest.toml` in a folder (the explorer's, or one the user
 * picks), never over an existing file, opens it and starts the manifest template, so the user tabs
 * through name, namespace, version, binary and description.
 */
import * as vscode from 'vscode';

import { MANIFEST_TEMPLATE } from '../../manifest/template';

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
  await vscode.workspace.fs.writeFile(uri, new Uint8Array());
  const editor = await vscode.window.showTextDocument(uri);
  await editor.insertSnippet(new vscode.SnippetString(MANIFEST_TEMPLATE), new vscode.Position(0, 0));
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
