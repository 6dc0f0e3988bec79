import * as vscode from 'vscode';

import type { Ctx } from '../ctx';
import { UserFacingError } from '../errors';
import { asVersionNode } from './treeArgument';

/** Tree: copy a version's SRI integrity (sha256-…). */
export const copyIntegrity = (_ctx: Ctx) => async (node?: unknown) => {
  const version = asVersionNode(node);
  if (!version) throw new UserFacingError('Copy Integrity works on a version in the Serval view: right-click one there.');
  await vscode.env.clipboard.writeText(version.executable.integrity);
  vscode.window.setStatusBarMessage(`$(check) Copied the integrity of ${version.manifest.fqName} ${version.executable.version}`, 3000);
};
