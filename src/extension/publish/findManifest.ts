import * as path from 'node:path';
import * as vscode from 'vscode';

import { UserFacingError } from '../errors';

const MANIFEST_FILE = 'manifest.toml';

/**
 * The manifest to publish: the one given (explorer menu, tests), else the active editor's, else the
 * workspace's; a quick pick when the workspace has several. Undefined when the user cancels.
 */
export async function findManifest(given: unknown): Promise<vscode.Uri | undefined> {
  if (given instanceof vscode.Uri) return given;
  const active = vscode.window.activeTextEditor?.document;
  if (active && active.uri.scheme === 'file' && path.basename(active.uri.fsPath) === MANIFEST_FILE) return active.uri;
  const found = await vscode.workspace.findFiles(`**/${MANIFEST_FILE}`, '**/node_modules/**');
  if (found.length === 0) {
    throw new UserFacingError(
      'No manifest.toml in this workspace: create one with "Serval: New Job Manifest…", or open the manifest to publish.',
    );
  }
  if (found.length === 1) return found[0];
  return pickManifest(found);
}

async function pickManifest(uris: vscode.Uri[]): Promise<vscode.Uri | undefined> {
  const items = uris
    .map((uri) => ({ label: vscode.workspace.asRelativePath(uri), uri }))
    .sort((a, b) => a.label.localeCompare(b.label));
  const picked = await vscode.window.showQuickPick(items, {
    title: 'Publish Job',
    placeHolder: 'Which manifest do you want to publish?',
  });
  return picked?.uri;
}
