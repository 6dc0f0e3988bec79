/** A case's verdict as Test Explorer messages: a diff per differing stream, then exit code and stderr. */
import * as vscode from 'vscode';
import { asText, displayPair, type CaseResult, type Mismatch } from '../../jobtests';

const SHOWN_STDERR_CHARS = 4000;

/**
 * Every message carries what the job did (exit code, stderr) after its own sentence: the peek view
 * shows one message at a time, and the diff is the one users open first.
 */
export function failureMessages(result: CaseResult): vscode.TestMessage[] {
  const { verdict, testCase } = result;
  const summary = outcomeSummary(result);
  const withSummary = (text: string) => (summary ? `${text}\n${summary}` : text);
  const messages: vscode.TestMessage[] = verdict.mismatches.map((mismatch) => diffMessage(mismatch, testCase.files, withSummary(mismatch.message)));
  messages.push(...verdict.problems.map((problem) => new vscode.TestMessage(withSummary(problem))));
  return messages;
}

function diffMessage(mismatch: Mismatch, files: CaseResult['testCase']['files'], text: string): vscode.TestMessage {
  const message =
    typeof mismatch.expected === 'number' || typeof mismatch.actual === 'number'
      ? vscode.TestMessage.diff(text, String(mismatch.expected), String(mismatch.actual))
      : (() => {
          const shown = displayPair(mismatch.expected, mismatch.actual);
          return vscode.TestMessage.diff(text, shown.expected, shown.actual);
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
