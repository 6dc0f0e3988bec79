import * as path from 'node:path';
import * as vscode from 'vscode';
import { fullyQualifiedName, checkManifest } from '../../manifest';
import type { Ctx } from '../ctx';
import { ManifestDocuments } from '../documents/manifestDocuments';
import { OutputDocuments } from '../documents/outputDocuments';
import { UserFacingError } from '../errors';
import { requireInput, type LiveRun } from '../run/liveRun';
import { requireTrust } from '../trust';

/**
 * Serval: Run Job Live on Active File. Runs the workspace's build of a job (its manifest.toml) on
 * the active editor's text, again after each pause in typing and each rebuild of its .wasm, until
 * Serval: Stop Live Run. With `{ manifest: PATH }` (keybindings.json `args`, tests) it asks nothing.
 */
export const runLiveOnActiveFile = (ctx: Ctx) => async (argument?: unknown): Promise<LiveRun | undefined> => {
  requireTrust('Running a job live');
  const input = requireInput(vscode.window.activeTextEditor?.document, [OutputDocuments.SCHEME, ManifestDocuments.SCHEME, 'output']);
  const manifestPath = manifestArgument(argument) ?? (await pickWorkspaceManifest());
  if (!manifestPath) return undefined;
  const live = ctx.liveRuns.start(ctx, manifestPath, input, ctx.config.liveRunDelayMs);
  ctx.log.info(`Live run of ${manifestPath} on ${input.uri.toString()} started`);
  return live;
};

/** Serval: Stop Live Run (also the live run's status bar item). */
export const stopLiveRun = (ctx: Ctx) => () => {
  if (ctx.liveRuns.stop()) ctx.log.info('Live run stopped');
};

function manifestArgument(argument: unknown): string | undefined {
  if (argument === undefined || argument instanceof vscode.Uri) return argument?.fsPath;
  const manifest = (argument as { manifest?: unknown } | null)?.manifest;
  if (typeof manifest !== 'string' || manifest === '') {
    throw new UserFacingError('Serval: Run Job Live on Active File takes { "manifest": "path/to/manifest.toml" } as its argument.');
  }
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  return path.isAbsolute(manifest) || !folder ? manifest : path.join(folder, manifest);
}

/** The workspace's one manifest, or the one the user picks (named by its job). */
async function pickWorkspaceManifest(): Promise<string | undefined> {
  const uris = await vscode.workspace.findFiles('**/manifest.toml', '**/{node_modules,.git}/**');
  if (uris.length === 0) throw new UserFacingError('No manifest.toml in this workspace: create one with Serval: New Job Manifest…, then start the live run.');
  if (uris.length === 1) return uris[0]!.fsPath;
  const items = await Promise.all(
    uris.map(async (uri) => {
      const text = Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8');
      const manifest = checkManifest(text.replace(/^\uFEFF/, '')).manifest;
      return {
        label: manifest ? fullyQualifiedName(manifest.namespace, manifest.name) : path.basename(path.dirname(uri.fsPath)),
        description: vscode.workspace.asRelativePath(uri),
        manifestPath: uri.fsPath,
      };
    }),
  );
  const picked = await vscode.window.showQuickPick(items, { title: 'Run Job Live on Active File', placeHolder: 'The job whose build runs on this file as you type' });
  return picked?.manifestPath;
}
