/** A case's verdict as Test Explorer messages: a diff per differing stream, then exit code and stderr. */
import * as vscode from 'vscode';
import { asText, displayPair, type CaseResult, type Mismatch } from '../../jobtests';

const SHOWN_STDERR_CHARS = 4000;

export function failureMessages(result: CaseResult): vscode.TestMessage[] {
  const { verdict, testCase } = result;
  const messages: vscode.TestMessage[] = verdict.problems.map((problem) => new vscode.TestMessage(problem));
  for (const mismatch of verdict.mismatches) messages.push(diffMessage(mismatch, testCase.files));
  const summary = outcomeSummary(result);
  if (summary) messages.push(new vscode.TestMessage(summary));
  return messages;
}

function diffMessage(mismatch: Mismatch, files: CaseResult['testCase']['files']): vscode.TestMessage {
  const message =
    typeof mismatch.expected === 'number' || typeof mismatch.actual === 'number'
      ? vscode.TestMessage.diff(mismatch.message, String(mismatch.expected), String(mismatch.actual))
      : (() => {
          const shown = displayPair(mismatch.expected, mismatch.actual);
          return vscode.TestMessage.diff(mismatch.message, shown.expected, shown.actual);
        })();
  const kind = mismatch.stream === 'stdout' ? 'out' : mismatch.stream === 'stderr' ? 'err' : 'exit';
  const file = files[kind];
  if (file) message.location = new vscode.Location(vscode.Uri.file(file), new vscode.Position(0, 0));
  return message;
}

/** "exit code 2; stderr: …" of what the job did, so a failure shows them whatever was compared. */
function outcomeSummary({ verdict }: CaseResult): string | undefined {
  const outcome = verdict.outcome;
  if (!outcome || outcome.kind === 'not-run') return undefined;
  const parts = [outcome.kind === 'exited' ? `exit code ${outcome.exitCode}` : outcome.kind === 'trapped' ? `trapped: ${outcome.trap}` : 'stopped at the time limit'];
  if (outcome.stderr !== undefined) {
    const text = asText(outcome.stderr) ?? `(${outcome.stderr.length} bytes, not text)`;
    parts.push(text === '' ? 'stderr: (empty)' : `stderr:\n${text.length > SHOWN_STDERR_CHARS ? `${text.slice(0, SHOWN_STDERR_CHARS)}…` : text}`);
  }
  return parts.join('\n');
}
