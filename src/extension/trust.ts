import * as vscode from 'vscode';

import { UserFacingError } from './errors';

/**
 * In Restricted Mode Serval still edits manifests (grammar, problems, completion, hover), but
 * nothing that runs code or sends the workspace's files away: publishing, running a job and
 * starting the local agent need a trusted workspace, and say so with the button that grants it.
 */
export function requireTrust(what: string): void {
  if (!vscode.workspace.isTrusted) throw trustError(what);
}

export function trustError(what: string): UserFacingError {
  return new UserFacingError(`${what} needs a trusted workspace: this one is in Restricted Mode. Trust it to publish, run and start the local agent.`, [
    { title: 'Manage Workspace Trust', run: () => vscode.commands.executeCommand('workbench.trust.manage') },
  ]);
}
