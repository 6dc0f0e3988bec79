import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

import { FilesFolderError, packFilesFolder } from '../../files/folder';
import { checkBinary, checkManifest, fullyQualifiedName, type Manifest, type Problem } from '../../manifest';
import { abortSignalOf } from '../documents/manifestDocuments';
import type { Ctx } from '../ctx';
import { UserFacingError } from '../errors';
import { requireTrust } from '../trust';
import { findManifest } from './findManifest';
import { runPreTask } from './preTask';
import { findStaleBuild } from './staleness';
import { confirmVersion } from './versionSafety';

export interface PublishResult {
  fqName: string;
  version: string;
  /** SRI integrity of the stored manifest text. */
  manifestIntegrity: string;
  /** SRI integrity of the uploaded executable. */
  integrity: string;
  /** SRI integrity of the uploaded files archive, when the manifest names a `files` folder. */
  filesIntegrity?: string;
}

/** A manifest that passed every check, with the bytes of its binary. */
interface ReadyToPublish {
  uri: vscode.Uri;
  text: string;
  manifest: Manifest;
  fqName: string;
  binaryPath: string;
  bytes: Uint8Array;
  /** The `files` folder packed as a tar, when the manifest names one. */
  files?: Uint8Array;
}

/** Serval: Publish Job. Resolves with what was stored, or undefined when the user stopped it. */
export async function publishJob(ctx: Ctx, given: unknown): Promise<PublishResult | undefined> {
  requireTrust('Publishing a job');
  const uri = await findManifest(given);
  if (!uri) return undefined;
  await saveIfDirty(uri);
  if (ctx.config.publishPreTask) await runPreTask(ctx.config.publishPreTask, ctx.log);
  let ready = await validate(ctx, uri);
  if (!(await confirmStaleBuild(ctx, ready))) return undefined;
  if (!(await confirmPublish(ctx, ready))) return undefined;
  // Bump Version edits the manifest: check the edited one again, and ask again if that version is taken too.
  for (;;) {
    const decision = await confirmVersion(ctx, { uri, fqName: ready.fqName, version: ready.manifest.version, bytes: ready.bytes });
    if (decision === 'cancel') return undefined;
    if (decision === 'publish') break;
    ready = await validate(ctx, uri);
  }
  const result = await upload(ctx, ready);
  if (!result) return undefined;
  ctx.log.info(`Published ${result.fqName} ${result.version} to ${ctx.agents.label} (${result.integrity})`);
  ctx.fireStoreChanged(result.fqName);
  // The buttons' follow-ups are commands of their own; a failure there is logged, never unhandled.
  void offerNextSteps(ctx, result).catch((error: unknown) => ctx.log.warn(`After publishing: ${String(error)}`));
  return result;
}

/**
 * Unsaved edits are saved first, as tasks and rust-analyzer do before a build: the published
 * manifest is then the file on disk, and the build (pre-task) and staleness check see it too.
 */
async function saveIfDirty(uri: vscode.Uri): Promise<void> {
  const document = vscode.workspace.textDocuments.find((open) => open.uri.toString() === uri.toString());
  if (!document?.isDirty || (await document.save())) return;
  throw new UserFacingError(`${vscode.workspace.asRelativePath(uri)} has unsaved changes that could not be saved: save it, then publish again.`);
}

/** Checks the manifest (the text just saved) and its binary; refuses with every problem. */
async function validate(ctx: Ctx, uri: vscode.Uri): Promise<ReadyToPublish> {
  const text = (await vscode.workspace.openTextDocument(uri)).getText();
  const check = checkManifest(text);
  const problems = [...check.problems, ...(await checkBinary(uri.fsPath, text, check))];
  const errors = problems.filter((problem) => problem.severity === 'error');
  if (errors.length > 0 || !check.manifest) throw refusal(ctx, uri, errors);
  const manifest = check.manifest;
  const binaryPath = path.resolve(path.dirname(uri.fsPath), manifest.binary);
  const bytes = new Uint8Array(await fs.readFile(binaryPath));
  const files = manifest.files === undefined ? undefined : await packedFiles(uri, manifest.files);
  return { uri, text, manifest, fqName: fullyQualifiedName(manifest.namespace, manifest.name), binaryPath, bytes, files };
}

/** The manifest's files folder as the archive to upload; a folder that cannot be published stops here. */
async function packedFiles(uri: vscode.Uri, files: string): Promise<Uint8Array> {
  try {
    return await packFilesFolder(path.resolve(path.dirname(uri.fsPath), files));
  } catch (error) {
    if (!(error instanceof FilesFolderError)) throw error;
    throw new UserFacingError(`Cannot publish ${vscode.workspace.asRelativePath(uri)}: its files folder "${files}" ${error.message}.`);
  }
}

function refusal(ctx: Ctx, uri: vscode.Uri, errors: Problem[]): UserFacingError {
  const where = vscode.workspace.asRelativePath(uri);
  for (const problem of errors) ctx.log.error(`${where}:${problem.range.line + 1}:${problem.range.column + 1} ${problem.message}`);
  // A notification is one paragraph: it names the first problem; the Problems panel lists each on its own line.
  const [first] = errors;
  const firstText = `line ${first!.range.line + 1}: ${first!.message}`;
  const message =
    errors.length === 1
      ? `Cannot publish ${where}: it has a problem. ${firstText}`
      : `Cannot publish ${where}: it has ${errors.length} problems. The first, ${firstText} (Show Problems lists them all.)`;
  return new UserFacingError(message, [
    { title: 'Show Problems', run: () => showProblems(uri) },
  ]);
}

async function showProblems(uri: vscode.Uri): Promise<void> {
  await vscode.window.showTextDocument(uri);
  await vscode.commands.executeCommand('workbench.actions.view.problems');
}

/** A binary older than its manifest or sources was probably not rebuilt: ask before publishing it. */
async function confirmStaleBuild(ctx: Ctx, ready: ReadyToPublish): Promise<boolean> {
  const stale = await findStaleBuild(ready.uri.fsPath, ready.binaryPath);
  if (!stale) return true;
  return ctx.confirm({
    message: `${path.basename(ready.binaryPath)} is older than ${vscode.workspace.asRelativePath(stale.newerFile)}: it may not contain your last changes.`,
    detail: 'Rebuild it first (serval.publish.preTask can run the build for you), or publish it as it is.',
    action: 'Publish Anyway',
  });
}

async function confirmPublish(ctx: Ctx, ready: ReadyToPublish): Promise<boolean> {
  if (!ctx.config.publishConfirm) return true;
  return ctx.confirm({
    message: `Publish ${ready.fqName} ${ready.manifest.version} to ${ctx.agents.label}?`,
    detail:
      `${ready.bytes.length} bytes from ${vscode.workspace.asRelativePath(ready.binaryPath)}` +
      (ready.files ? `, and the files of "${ready.manifest.files}" (${ready.files.length} bytes as a tar)` : ''),
    action: 'Publish',
    severity: 'information',
  });
}

/**
 * Manifest first (the agent refuses anything of a version without it), then the files, then the
 * executable, which makes the version runnable: never without its files. Cancellable.
 */
function upload(ctx: Ctx, ready: ReadyToPublish): Thenable<PublishResult | undefined> {
  const { fqName, manifest } = ready;
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Publishing ${fqName} ${manifest.version}`, cancellable: true },
    async (progress, token) => {
      const signal = abortSignalOf(token);
      const client = await ctx.client();
      signal.throwIfAborted();
      progress.report({ message: 'manifest…' });
      const manifestIntegrity = await client.storeManifest(ready.text, { signal });
      try {
        let filesIntegrity: string | undefined;
        if (ready.files) {
          progress.report({ message: 'files…', increment: 25 });
          filesIntegrity = await client.putFiles(fqName, manifest.version, ready.files, { signal });
        }
        progress.report({ message: 'executable…', increment: ready.files ? 25 : 50 });
        const integrity = await client.putExecutable(fqName, manifest.version, ready.bytes, { signal });
        progress.report({ increment: 50 });
        return { fqName, version: manifest.version, manifestIntegrity, integrity, ...(filesIntegrity && { filesIntegrity }) };
      } catch (error) {
        // The manifest is stored already: the tree must show it, without the version that failed.
        ctx.log.warn(`Publishing ${fqName} ${manifest.version} stopped after its manifest was stored, before its executable`);
        ctx.fireStoreChanged(fqName);
        throw error;
      }
    },
  );
}

async function offerNextSteps(ctx: Ctx, result: PublishResult): Promise<void> {
  const choice = await vscode.window.showInformationMessage(
    `Published ${result.fqName} ${result.version} (${result.integrity}).`,
    'Run',
    'Reveal in Tree',
  );
  if (choice === 'Run') {
    await vscode.commands.executeCommand('serval.runOnActiveFile', { job: result.fqName, version: result.version });
  } else if (choice === 'Reveal in Tree') {
    await ctx.tree.revealVersion(result.fqName, result.version);
  }
}
