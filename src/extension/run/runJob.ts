import * as vscode from 'vscode';

import type { RunResult } from '../../client/types';
import type { Ctx } from '../ctx';
import type { RunRecord } from '../hooks';
import { ManifestDocuments } from '../documents/manifestDocuments';
import { OutputDocuments } from '../documents/outputDocuments';
import { UserFacingError } from '../errors';
import { firstLine } from '../format';
import { RecentJobs } from './recentJobs';

export interface RunRequest {
  /** Fully-qualified name of the job. */
  job: string;
  /** A stored version; default: the manifest's current version. */
  version?: string;
  /** Send only the selection of the editor (Run Job on Selection). */
  selectionOnly?: boolean;
}

const decoder = new TextDecoder();

/** Runs a job with the input editor's text as stdin and shows what came out. */
export async function runJobOnEditor(ctx: Ctx, request: RunRequest): Promise<RunRecord> {
  const input = inputText(request.selectionOnly ?? false);
  const { job, version } = request;
  await new RecentJobs(ctx.workspaceState).remember(job);
  const client = await ctx.client();
  const label = version ? `${job} ${version}` : job;
  ctx.log.info(`Running ${label} on ${input.length} characters`);
  const result = await ctx.runningJobs.track(label, (signal) => client.run(job, input, { version, signal }));
  const record: RunRecord = { job, version, result, output: decoder.decode(result.output), problem: describeProblem(label, result) };
  ctx.recordRun(record);
  logRun(ctx, label, record);
  await showOutput(ctx, record);
  if (record.problem) warn(ctx, record).catch((error: unknown) => ctx.log.error(`Showing the output of ${label} failed: ${String(error)}`));
  return record;
}

/** The text of the editor the job reads; our own read-only documents are never an input. */
function inputText(selectionOnly: boolean): string {
  const editor = inputEditor();
  if (!editor) {
    throw new UserFacingError('Open the file whose text the job should read (an untitled editor works too), then run the job again.');
  }
  if (!selectionOnly) return editor.document.getText();
  if (editor.selection.isEmpty) throw new UserFacingError('Select the text the job should read, then run the job again.');
  return editor.document.getText(editor.selection);
}

function inputEditor(): vscode.TextEditor | undefined {
  const ours = new Set([OutputDocuments.SCHEME, ManifestDocuments.SCHEME, 'output']);
  const candidates = [vscode.window.activeTextEditor, ...vscode.window.visibleTextEditors];
  return candidates.find((editor) => editor && !ours.has(editor.document.uri.scheme));
}

/** What went wrong, in one sentence, or undefined when the job exited with 0 within its limits. */
export function describeProblem(label: string, result: RunResult): string | undefined {
  const detail = firstLine(decoder.decode(result.output));
  const suffix = detail ? `: ${detail}` : '.';
  if (result.limit === 'time') return `${label} ran past its time limit and was stopped${suffix}`;
  if (result.trap) return `${label} crashed (trap: ${result.trap}).`;
  if (result.limit === 'output') return `${label} wrote more than the output limit; its output was cut there.`;
  if (result.exitCode !== 0) return `${label} failed with exit code ${result.exitCode ?? 'unknown'}${suffix}`;
  return undefined;
}

function logRun(ctx: Ctx, label: string, { result, output, problem }: RunRecord): void {
  const timing = result.durationMs !== undefined ? ` in ${result.durationMs} ms` : '';
  const summary = `${label}: exit code ${result.exitCode ?? 'none'}${timing}${result.jobId ? ` (job ${result.jobId})` : ''}`;
  if (!problem) {
    ctx.log.info(summary);
    return;
  }
  // On failure the agent sends stderr (and the trap's line) instead of stdout: that belongs in the log.
  ctx.log.warn(`${summary}${result.trap ? `, trap: ${result.trap}` : ''}${result.limit ? `, limit: ${result.limit}` : ''}`);
  if (output.trim() !== '') ctx.log.warn(`${label} stderr:\n${output.trimEnd()}`);
}

async function showOutput(ctx: Ctx, record: RunRecord): Promise<void> {
  if (ctx.config.runOutput === 'outputChannel') {
    ctx.log.info(`Output of ${record.job}:\n${record.output}`);
    ctx.log.show(true);
    return;
  }
  const uri = ctx.outputDocuments.set(record.job, record.output);
  const document = await vscode.workspace.openTextDocument(uri);
  // Beside the input, without taking the focus: the user keeps typing where they were.
  await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true, preview: false });
}

async function warn(ctx: Ctx, record: RunRecord): Promise<void> {
  const choice = await vscode.window.showWarningMessage(record.problem ?? '', 'Show Output', 'Show Log');
  if (choice === 'Show Output') await showOutput(ctx, record);
  else if (choice === 'Show Log') ctx.log.show(true);
}
