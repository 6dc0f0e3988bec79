import * as vscode from 'vscode';

import { UserFacingError } from '../errors';

/**
 * Runs the task that `serval.publish.preTask` names (usually the build) and waits for its end.
 * Throws when the task does not exist or fails: publishing a stale binary is worse than not publishing.
 */
export async function runPreTask(name: string, log: vscode.LogOutputChannel): Promise<void> {
  const task = (await vscode.tasks.fetchTasks()).find((t) => t.name === name || `${t.source}: ${t.name}` === name);
  if (!task) {
    throw new UserFacingError(
      `The task "${name}" named by serval.publish.preTask does not exist: define it in tasks.json or change the setting.`,
      [{ title: 'Open Settings', run: () => vscode.commands.executeCommand('workbench.action.openSettings', 'serval.publish.preTask') }],
    );
  }
  log.info(`Running the task "${name}" before publishing`);
  const exitCode = await executeAndWait(task);
  if (exitCode !== undefined && exitCode !== 0) {
    throw new UserFacingError(`The task "${name}" failed (exit code ${exitCode}), so nothing was published. See its terminal.`);
  }
}

/** Resolves with the task's exit code, or undefined for a task without a process (custom execution). */
async function executeAndWait(task: vscode.Task): Promise<number | undefined> {
  const disposables: vscode.Disposable[] = [];
  try {
    return await new Promise<number | undefined>((resolve, reject) => {
      let execution: vscode.TaskExecution | undefined;
      const isOurs = (other: vscode.TaskExecution): boolean =>
        other === execution || (other.task.name === task.name && other.task.source === task.source);
      disposables.push(
        vscode.tasks.onDidEndTaskProcess((event) => {
          if (isOurs(event.execution)) resolve(event.exitCode);
        }),
        // Fires after onDidEndTaskProcess; settles tasks that have no process of their own.
        vscode.tasks.onDidEndTask((event) => {
          if (isOurs(event.execution)) resolve(undefined);
        }),
      );
      vscode.tasks.executeTask(task).then((started) => (execution = started), reject);
    });
  } finally {
    for (const disposable of disposables) disposable.dispose();
  }
}
