import * as vscode from 'vscode';

import type { Ctx } from '../ctx';
import { ManifestDocuments } from '../documents/manifestDocuments';
import { asVersionNode, jobOf } from './treeArgument';

/** Tree: the stored manifest (that version's, for a version) as a read-only TOML document. */
export const openManifest = (ctx: Ctx) => async (node?: unknown) => {
  const job = await jobOf(ctx, node, 'Open Stored Manifest');
  if (!job) return;
  const uri = ManifestDocuments.uri(job, asVersionNode(node)?.executable.version);
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: true });
};
