import * as vscode from 'vscode';

import { sriOf } from '../../client/integrity';
import { storedIntegrity } from '../../client/storedVersion';
import { nextVersions, scanKeyLines } from '../../manifest/completion';
import type { Ctx } from '../ctx';
import { UserFacingError } from '../errors';

export type VersionDecision = 'publish' | 'bumped' | 'cancel';

/**
 * A version is a promise: the same name and version always run the same bytes. Publishing other
 * bytes under a stored version asks first: Replace it, or Bump Version (the manifest's `version`
 * is edited and saved for the user, and the publish goes on with the new one).
 */
export async function confirmVersion(
  ctx: Ctx,
  ready: { uri: vscode.Uri; fqName: string; version: string; bytes: Uint8Array },
): Promise<VersionDecision> {
  const stored = await storedIntegrity(await ctx.client(), ready.fqName, ready.version);
  if (stored === undefined || stored === sriOf(ready.bytes)) return 'publish';
  const bump = nextVersion(ready.version);
  const choice = await ctx.choose({
    message: `${ready.fqName} ${ready.version} is already stored on ${ctx.agents.label} with other bytes.`,
    detail: `Replacing it changes what every run of ${ready.version} does. Bump Version sets version = "${bump}" in ${vscode.workspace.asRelativePath(ready.uri)} and publishes that.`,
    actions: ['Bump Version', 'Replace'],
  });
  if (choice === 'Replace') return 'publish';
  if (choice !== 'Bump Version') return 'cancel';
  await setManifestVersion(ready.uri, bump);
  ctx.log.info(`Bumped ${vscode.workspace.asRelativePath(ready.uri)} to version ${bump}`);
  return 'bumped';
}

/** The patch bump of a semantic version (1.2.3 → 1.2.4), else the first version that may follow. */
export function nextVersion(current: string): string {
  const candidates = nextVersions(current);
  return (candidates.find((candidate) => candidate.why.startsWith('patch')) ?? candidates[0]!).version;
}

/** Writes `version = "<version>"` over the manifest's version value, and saves the file. */
async function setManifestVersion(uri: vscode.Uri, version: string): Promise<void> {
  const document = await vscode.workspace.openTextDocument(uri);
  const line = scanKeyLines(document.getText()).find((keyLine) => keyLine.key === 'version');
  if (!line) throw new UserFacingError(`${vscode.workspace.asRelativePath(uri)} has no version to bump.`);
  const start = new vscode.Position(line.valueRange.line, line.valueRange.column);
  const range = new vscode.Range(start, start.translate(0, line.valueRange.length));
  const edit = new vscode.WorkspaceEdit();
  edit.replace(uri, range, JSON.stringify(version));
  if (!(await vscode.workspace.applyEdit(edit)) || !(await document.save())) {
    throw new UserFacingError(`Could not set version = "${version}" in ${vscode.workspace.asRelativePath(uri)}: edit it there, then publish again.`);
  }
}
