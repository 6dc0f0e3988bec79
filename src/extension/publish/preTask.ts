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
  const end = await executeAndWait(task);
  if (end.kind === 'process' && end.exitCode === undefined) {
    throw new UserFacingError(`The task "${name}" was stopped before it finished, so nothing was published.`);
  }
  if (end.kind === 'process' && end.exitCode !== 0) {
    throw new UserFacingError(`The task "${name}" failed (exit code ${end.exitCode}), so nothing was published. See its terminal.`);
  }
}

/** How a task ended: its process's exit code (undefined when it was terminated), or no process at all. */
type TaskEnd = { kind: 'process'; exitCode: number | undefined } | { kind: 'noProcess' };

async function executeAndWait(task: vscode.Task): Promise<TaskEnd> {
  const disposables: vscode.Disposable[] = [];
  try {
    return await new Promise<TaskEnd>((resolve, reject) => {
      let execution: vscode.TaskExecution | undefined;
      const isOurs = (other: vscode.TaskExecution): boolean =>
        other === execution || (other.task.name === task.name && other.task.source === task.source);
      disposables.push(
        vscode.tasks.onDidEndTaskProcess((event) => {
          if (isOurs(event.execution)) resolve({ kind: 'process', exitCode: event.exitCode });
        }),
        // Fires after onDidEndTaskProcess; settles tasks that have no process of their own (custom execution).
        vscode.tasks.onDidEndTask((event) => {
          if (isOurs(event.execution)) resolve({ kind: 'noProcess' });
        }),
      );
      vscode.tasks.executeTask(task).then((started) => (execution = started), reject);
    });
  } finally {
    for (const disposable of disposables) disposable.dispose();
  }
}
