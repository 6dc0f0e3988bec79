import * as vscode from 'vscode';

const CANCEL_COMMAND = 'serval.cancelRun';

/**
 * One status bar spinner per running job; clicking it cancels the wait (the agent bounds the job
 * itself with its time limit). `serval.cancelRun` is internal: it is not in the command palette.
 */
export class RunningJobs implements vscode.Disposable {
  private nextId = 0;
  private readonly running = new Map<number, { controller: AbortController; item: vscode.StatusBarItem }>();
  private readonly command: vscode.Disposable;

  constructor() {
    this.command = vscode.commands.registerCommand(CANCEL_COMMAND, (id: number) => this.running.get(id)?.controller.abort());
  }

  /** Runs `work` with a spinner and an AbortSignal that the spinner's click aborts. */
  async track<T>(job: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const id = this.nextId++;
    const controller = new AbortController();
    // One stable id for every spinner: the id is what the user hides or shows them by.
    const item = vscode.window.createStatusBarItem('serval.runningJob', vscode.StatusBarAlignment.Left, 9);
    item.name = 'Serval Job';
    item.text = `$(sync~spin) Serval: running ${job}`;
    item.tooltip = 'Click to stop waiting for this job';
    item.command = { command: CANCEL_COMMAND, title: 'Stop Waiting', arguments: [id] };
    item.show();
    this.running.set(id, { controller, item });
    try {
      return await work(controller.signal);
    } finally {
      this.running.delete(id);
      item.dispose();
    }
  }

  dispose(): void {
    for (const { controller, item } of this.running.values()) {
      controller.abort();
      item.dispose();
    }
    this.running.clear();
    this.command.dispose();
  }
}
