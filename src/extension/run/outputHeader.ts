import * as vscode from 'vscode';

import { OutputDocuments } from '../documents/outputDocuments';
import { describeSummary } from './runJob';

/**
 * A line above a run's output saying what it is: the stream (stdout, or stderr for a failed run),
 * the exit code or trap, the duration; and a Re-run button. A CodeLens, so that the document's
 * text stays exactly what the job wrote.
 */
export class OutputHeaderProvider implements vscode.CodeLensProvider {
  readonly onDidChangeCodeLenses: vscode.Event<void>;

  constructor(private readonly outputs: OutputDocuments) {
    this.onDidChangeCodeLenses = (listener, thisArgs, disposables) =>
      outputs.onDidChange(() => listener.call(thisArgs, undefined), undefined, disposables);
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const summary = this.outputs.summaryOf(document.uri);
    if (!summary) return [];
    const top = new vscode.Range(0, 0, 0, 0);
    const label = summary.version ? `${summary.job} ${summary.version}` : summary.job;
    return [
      new vscode.CodeLens(top, {
        title: `${summary.failed ? '$(error)' : '$(pass)'} ${describeSummary(summary)}`,
        tooltip: `${summary.stream === 'stdout' ? 'What' : 'The error output that'} ${label} wrote${summary.stream === 'stderr' ? ' (the agent sends stderr when a job fails)' : ''}`,
        command: '',
      }),
      new vscode.CodeLens(top, { title: '$(debug-rerun) Re-run', tooltip: 'Serval: Re-run Last Job', command: 'serval.rerunLastJob' }),
    ];
  }

  static register(outputs: OutputDocuments): vscode.Disposable {
    return vscode.languages.registerCodeLensProvider({ scheme: OutputDocuments.SCHEME }, new OutputHeaderProvider(outputs));
  }
}
