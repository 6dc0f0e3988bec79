import * as vscode from 'vscode';

import { NotFoundError } from '../../client/errors';
import type { RunResult } from '../../client/types';
import { setContext } from '../agent/agents';
import type { Ctx } from '../ctx';
import { ManifestDocuments } from '../documents/manifestDocuments';
import { OutputDocuments, type RunSummary } from '../documents/outputDocuments';
import { UserFacingError } from '../errors';
import { firstLine } from '../format';
import type { RunRecord } from '../hooks';
import { requireTrust } from '../trust';
import { RecentJobs } from './recentJobs';

/** What a job reads as its stdin. */
export type RunInput =
  /** The active editor's text (or its selection). */
  | { kind: 'editor'; selectionOnly?: boolean }
  /** An open or openable document's text (or its selection, in the editor that shows it). */
  | { kind: 'document'; uri: vscode.Uri; selectionOnly?: boolean }
  /** A file's bytes, as they are on disk. */
  | { kind: 'file'; uri: vscode.Uri };

export interface RunRequest {
  /** Fully-qualified name of the job. */
  job: string;
  /** A stored version; default: the manifest's current version. */
  version?: string;
  /** Default: the active editor's text. */
  input?: RunInput;
  /** Send only the selection of the editor (Run Job on Selection); shorthand for an editor input. */
  selectionOnly?: boolean;
  /** Arguments after argv[0]; when given they replace the manifest's `args`. */
  args?: readonly string[];
  /** Environment entries over the manifest's `[env]`. */
  env?: Readonly<Record<string, string>> | readonly string[];
}

const decoder = new TextDecoder();

/** Runs a job with the active editor's text (or selection) as stdin and shows what came out. */
export function runJobOnEditor(ctx: Ctx, request: RunRequest): Promise<RunRecord> {
  return runJob(ctx, request);
}

/**
 * Runs a job on its input and shows what came out: the output beside the input, a warning when
 * it failed. The request is kept (with its input pinned to a document or file) for Re-run Last Job.
 */
export async function runJob(ctx: Ctx, request: RunRequest): Promise<RunRecord> {
  requireTrust('Running a job');
  const { job, version } = request;
  const input = await readInput(request.input ?? { kind: 'editor', selectionOnly: request.selectionOnly });
  await new RecentJobs(ctx.workspaceState).remember(job);
  const client = await ctx.client();
  const label = version ? `${job} ${version}` : job;
  ctx.lastRunRequest = { job, version, input: input.pinned, args: request.args, env: request.env };
  void setContext('serval.hasRun', true);
  ctx.log.info(`Running ${label} on ${input.description} (${input.bytes.length} bytes)`);
  const result = await ctx.runningJobs
    .track(label, (signal) => client.run(job, input.bytes, { version, args: request.args, env: request.env, signal }))
    .catch(async (error: unknown) => Promise.reject(await explainRunFailure(ctx, job, version, error)));
  const record: RunRecord = { job, version, result, output: decoder.decode(result.output), problem: describeProblem(label, result) };
  ctx.recordRun(record);
  logRun(ctx, label, record);
  await showOutput(ctx, record);
  if (record.problem) warn(ctx, record).catch((error: unknown) => ctx.log.error(`Showing the output of ${label} failed: ${String(error)}`));
  return record;
}

interface ReadInput {
  bytes: Uint8Array;
  /** "untitled-1", "notes.txt (selection)": for the log. */
  description: string;
  /** The same input again, for Re-run Last Job: the document or file, not "whatever is active". */
  pinned: RunInput;
}

async function readInput(input: RunInput): Promise<ReadInput> {
  if (input.kind === 'file') {
    const bytes = await vscode.workspace.fs.readFile(input.uri).then(undefined, (error: unknown) => {
      throw new UserFacingError(`Cannot read ${vscode.workspace.asRelativePath(input.uri)}: ${error instanceof Error ? error.message : String(error)}`);
    });
    return { bytes, description: vscode.workspace.asRelativePath(input.uri), pinned: input };
  }
  const editor = input.kind === 'editor' ? inputEditor() : await editorOf(input.uri);
  if (!editor) {
    throw new UserFacingError('Open the file whose text the job should read (an untitled editor works too), then run the job again.');
  }
  const selectionOnly = input.selectionOnly ?? false;
  const { document } = editor;
  const name = document.isUntitled ? document.uri.path : vscode.workspace.asRelativePath(document.uri);
  const pinned: RunInput = { kind: 'document', uri: document.uri, selectionOnly };
  if (!selectionOnly) return { bytes: new TextEncoder().encode(document.getText()), description: name, pinned };
  if (editor.selection.isEmpty) throw new UserFacingError('Select the text the job should read, then run the job again.');
  return { bytes: new TextEncoder().encode(document.getText(editor.selection)), description: `${name} (selection)`, pinned };
}

/** The text of the editor the job reads; our own read-only documents are never an input. */
function inputEditor(): vscode.TextEditor | undefined {
  const ours = new Set([OutputDocuments.SCHEME, ManifestDocuments.SCHEME, 'output']);
  const candidates = [vscode.window.activeTextEditor, ...vscode.window.visibleTextEditors];
  return candidates.find((editor) => editor && !ours.has(editor.document.uri.scheme));
}

/** The visible editor of a document, else the document opened in the background (its selection is then empty). */
async function editorOf(uri: vscode.Uri): Promise<vscode.TextEditor | undefined> {
  const visible = vscode.window.visibleTextEditors.find((editor) => editor.document.uri.toString() === uri.toString());
  if (visible) return visible;
  const document = await vscode.workspace.openTextDocument(uri).then(undefined, () => undefined);
  if (!document) throw new UserFacingError(`The input of the last run, ${vscode.workspace.asRelativePath(uri)}, is gone.`);
  return vscode.window.showTextDocument(document, { preserveFocus: true, preview: false });
}

/**
 * A job or version the agent does not have, in the editor's terms, with the command that helps:
 * the catalog is asked afresh which versions there are.
 */
async function explainRunFailure(ctx: Ctx, job: string, version: string | undefined, error: unknown): Promise<unknown> {
  if (!(error instanceof NotFoundError)) return error;
  const publish = { title: 'Publish Job', run: () => vscode.commands.executeCommand('serval.publish') };
  ctx.catalog.invalidate(job);
  const where = ctx.agents.label;
  let versions: string[];
  try {
    versions = (await ctx.catalog.versions(job)).map((executable) => executable.version);
  } catch (listing) {
    if (listing instanceof NotFoundError) return new UserFacingError(`${job} is not stored on ${where}: publish it first.`, [publish]);
    return error;
  }
  if (versions.length === 0) return new UserFacingError(`${job} has no version stored on ${where}, so it cannot run: publish it first.`, [publish]);
  const stored = `stored: ${versions.join(', ')}`;
  return new UserFacingError(
    version
      ? `${job} has no version ${version} on ${where} (${stored}): publish it, or run a stored version from the Serval view.`
      : `${job} has no executable for its current version on ${where} (${stored}): publish it, or run a stored version from the Serval view.`,
    [publish],
  );
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

/** Which stream the agent sent: stdout when the job exited with 0 (or was cut for output), else stderr. */
export function summarise(record: RunRecord): RunSummary {
  const { result } = record;
  const stdout = result.exitCode === 0 || result.limit === 'output';
  return {
    job: record.job,
    version: record.version,
    stream: stdout ? 'stdout' : 'stderr',
    exitCode: result.exitCode,
    durationMs: result.durationMs,
    trap: result.trap,
    limit: result.limit,
    failed: record.problem !== undefined,
  };
}

/** One line: "stdout · exit code 0 · 12 ms", "stderr · crashed (trap: unreachable) · 3 ms". */
export function describeSummary(summary: RunSummary): string {
  const outcome =
    summary.limit === 'time'
      ? 'stopped at its time limit'
      : summary.trap
        ? `crashed (trap: ${summary.trap})`
        : `exit code ${summary.exitCode ?? 'none'}`;
  const cut = summary.limit === 'output' ? ' · cut at the output limit' : '';
  const duration = summary.durationMs !== undefined ? ` · ${summary.durationMs} ms` : '';
  return `${summary.stream} · ${outcome}${cut}${duration}`;
}

function logRun(ctx: Ctx, label: string, record: RunRecord): void {
  const { result, output, problem } = record;
  const summary = `${label}: ${describeSummary(summarise(record))}${result.jobId ? ` (job ${result.jobId})` : ''}`;
  if (!problem) {
    ctx.log.info(summary);
    return;
  }
  // On failure the agent sends stderr (and the trap's line) instead of stdout: that belongs in the log.
  ctx.log.warn(summary);
  if (output.trim() !== '') ctx.log.warn(`${label} stderr:\n${output.trimEnd()}`);
}

async function showOutput(ctx: Ctx, record: RunRecord): Promise<void> {
  const summary = summarise(record);
  if (ctx.config.runOutput === 'outputChannel') {
    ctx.log.info(`Output of ${record.job} (${describeSummary(summary)}):\n${record.output}`);
    ctx.log.show(true);
    return;
  }
  const uri = ctx.outputDocuments.set(record.job, record.output, summary);
  const document = await vscode.workspace.openTextDocument(uri);
  // Beside the input, without taking the focus: the user keeps typing where they were.
  await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true, preview: false });
}

async function warn(ctx: Ctx, record: RunRecord): Promise<void> {
  const choice = await vscode.window.showWarningMessage(record.problem ?? '', 'Show Output', 'Show Log');
  if (choice === 'Show Output') await showOutput(ctx, record);
  else if (choice === 'Show Log') ctx.log.show(true);
}
