import * as path from 'node:path';
import * as vscode from 'vscode';

import { UserFacingError } from '../errors';

const MANIFEST_FILE = 'manifest.toml';

/**
 * The manifest to publish: the one given (explorer menu, tests), else the active editor's, else the
 * workspace's; a quick pick when the workspace has several. Undefined when the user cancels.
 */
export async function findManifest(given: unknown): Promise<vscode.Uri | undefined> {
  if (given !== undefined && given !== null) return manifestOfArgument(given);
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

/**
 * The explorer menu and the CodeLens pass a Uri; keybindings.json `args` can only pass a path. Any
 * other argument is a mistake to report: ignoring it would publish some other manifest.
 */
function manifestOfArgument(given: unknown): vscode.Uri {
  if (given instanceof vscode.Uri) return given;
  if (typeof given === 'string' && given.trim() !== '') {
    if (path.isAbsolute(given)) return vscode.Uri.file(given);
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (folder) return vscode.Uri.joinPath(folder.uri, given);
  }
  throw new UserFacingError(
    `The argument of Publish Job must be the path of a manifest.toml (absolute, or relative to the workspace folder), not ${JSON.stringify(given)}.`,
  );
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
