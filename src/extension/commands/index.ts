import * as vscode from 'vscode';

import { isCancellation } from '../../client/errors';
import type { Ctx } from '../ctx';
import { describeAgentError, UserFacingError } from '../errors';
import { clearAgentToken } from './clearAgentToken';
import { copyIntegrity } from './copyIntegrity';
import { copyName } from './copyName';
import { deleteManifest } from './deleteManifest';
import { deleteVersion } from './deleteVersion';
import { openManifest } from './openManifest';
import { publish } from './publish';
import { refresh } from './refresh';
import { rerunLastJob } from './rerunLastJob';
import { restartLocalAgent } from './restartLocalAgent';
import { runJob } from './runJob';
import { runLiveOnActiveFile, stopLiveRun } from './runLive';
import { runOnActiveFile } from './runOnActiveFile';
import { runOnFile } from './runOnFile';
import { runOnSelection } from './runOnSelection';
import { runVersion } from './runVersion';
import { runWithArguments } from './runWithArguments';
import { setAgentToken } from './setAgentToken';
import { showAgentLog } from './showAgentLog';
import { startLocalAgent } from './startLocalAgent';
import { stopLocalAgent } from './stopLocalAgent';
import { switchAgent } from './switchAgent';

/** A command is built from the Ctx once, at activation. */
export type CommandFactory = (ctx: Ctx) => (...args: unknown[]) => unknown;

/**
 * Every command of the extension, in one table (package.json declares the same ids).
 * `serval.newManifest` is registered by manifest editing, next to the template it inserts.
 */
const COMMANDS: Readonly<Record<string, CommandFactory>> = {
  'serval.publish': publish,
  'serval.runOnActiveFile': runOnActiveFile,
  'serval.runOnSelection': runOnSelection,
  'serval.runWithArguments': runWithArguments,
  'serval.runLiveOnActiveFile': runLiveOnActiveFile,
  'serval.stopLiveRun': stopLiveRun,
  'serval.runOnFile': runOnFile,
  'serval.rerunLastJob': rerunLastJob,
  'serval.refresh': refresh,
  'serval.startLocalAgent': startLocalAgent,
  'serval.stopLocalAgent': stopLocalAgent,
  'serval.restartLocalAgent': restartLocalAgent,
  'serval.showAgentLog': showAgentLog,
  'serval.switchAgent': switchAgent,
  'serval.setAgentToken': setAgentToken,
  'serval.clearAgentToken': clearAgentToken,
  'serval.runJob': runJob,
  'serval.runVersion': runVersion,
  'serval.openManifest': openManifest,
  'serval.copyName': copyName,
  'serval.copyIntegrity': copyIntegrity,
  'serval.deleteVersion': deleteVersion,
  'serval.deleteManifest': deleteManifest,
};

export function registerCommands(ctx: Ctx): void {
  for (const [id, factory] of Object.entries(COMMANDS)) {
    ctx.push(vscode.commands.registerCommand(id, reportingErrors(ctx, id, factory(ctx))));
  }
}

/**
 * The one error policy of every command: a cancellation is silent; a failure is shown (without
 * waiting for the user, so the command's promise settles) and its details go to the log. The command
 * resolves with undefined on failure rather than rejecting, so VS Code does not show it a second time.
 */
function reportingErrors(ctx: Ctx, id: string, command: (...args: unknown[]) => unknown) {
  return async (...args: unknown[]): Promise<unknown> => {
    try {
      return await command(...args);
    } catch (error) {
      if (isCancellation(error)) {
        ctx.log.info(`${id}: cancelled`);
        return undefined;
      }
      void showFailure(ctx, error, await recordFailure(ctx, id, error));
      return undefined;
    }
  };
}

/** Logs a failure and records what the user is told (the hooks seam), before the command settles. */
async function recordFailure(ctx: Ctx, id: string, error: unknown): Promise<string> {
  if (error instanceof UserFacingError) {
    ctx.log.warn(`${id}: ${error.message}`);
    ctx.recordFailure({ command: id, message: error.message });
    return error.message;
  }
  ctx.log.error(`${id} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  ctx.health.reportFailure();
  const tokenSet = ctx.agents.isRemote ? await ctx.agents.hasRemoteToken() : undefined;
  const message = describeAgentError(error, ctx.agents.label, { tokenSet });
  ctx.recordFailure({ command: id, message });
  return message;
}

/** A non-modal error notification with the error's own actions, or "Show Log" for the details. */
async function showFailure(ctx: Ctx, error: unknown, message: string): Promise<void> {
  if (error instanceof UserFacingError) {
    const choice = await vscode.window.showErrorMessage(message, ...error.actions.map((action) => action.title));
    await error.actions.find((action) => action.title === choice)?.run();
    return;
  }
  const choice = await vscode.window.showErrorMessage(message, 'Show Log');
  if (choice === 'Show Log') ctx.log.show(true);
}
