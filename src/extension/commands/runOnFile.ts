import * as path from 'node:path';
import * as vscode from 'vscode';

import type { Ctx } from '../ctx';
import { UserFacingError } from '../errors';
import { pickJob } from '../run/pickJob';
import { runJob } from '../run/runJob';

interface RunOnFileArgument {
  job?: string;
  version?: string;
  /** The input file: a Uri, or a path (keybindings.json). */
  input?: vscode.Uri;
  /** The job the picker offers first (the manifest's CodeLens). */
  preselect?: string;
}

/**
 * Serval: Run Job on File… (also the "Run on…" CodeLens of a manifest): asks which job (the
 * manifest's own first, when the CodeLens gave it) and which file it should read, then runs it on
 * the file's bytes. `{ job, input }` runs without asking.
 */
/** `{ job?, version?, input?, preselect? }`; `askForInput` (the CodeLens's) changes nothing here. */
export const runOnFile = (ctx: Ctx) => (argument?: unknown) => runOnChosenFile(ctx, parseArgument(argument));

/** The CodeLens form of Run Job on Active File: `{ preselect, askForInput: true }`. */
export function asksForInputFile(argument: unknown): boolean {
  return typeof argument === 'object' && argument !== null && (argument as { askForInput?: unknown }).askForInput === true;
}

export async function runOnChosenFile(ctx: Ctx, given: RunOnFileArgument) {
  const job = given.job ?? (await pickJob(ctx, 'Run Job on File…', { preselect: given.preselect }));
  if (!job) return undefined;
  const input = given.input ?? (await askForInput(job));
  if (!input) return undefined;
  return runJob(ctx, { job, version: given.version, input: { kind: 'file', uri: input } });
}

async function askForInput(job: string): Promise<vscode.Uri | undefined> {
  const active = vscode.window.activeTextEditor?.document.uri;
  const near = active?.scheme === 'file' ? vscode.Uri.file(path.dirname(active.fsPath)) : vscode.workspace.workspaceFolders?.[0]?.uri;
  const picked = await vscode.window.showOpenDialog({
    title: `Input of ${job}`,
    openLabel: 'Run on This File',
    canSelectFiles: true,
    canSelectFolders: false,
    canSelectMany: false,
    defaultUri: near,
  });
  return picked?.[0];
}

export function parseArgument(argument: unknown): RunOnFileArgument {
  if (argument === undefined || argument === null || argument instanceof vscode.Uri) return {};
  const { job, version, input, preselect, askForInput } = argument as Record<string, unknown>;
  const optionalString = (value: unknown) => value === undefined || (typeof value === 'string' && value !== '');
  const validInput = input === undefined || input instanceof vscode.Uri || (typeof input === 'string' && input !== '');
  if (typeof argument !== 'object' || (askForInput !== undefined && typeof askForInput !== 'boolean') || !optionalString(job) || !optionalString(version) || !optionalString(preselect) || !validInput) {
    throw new UserFacingError(
      `The argument of Run Job on File must be { "job"?: "<namespace.name>", "version"?: "<version>", "input"?: "<path>" }, not ${JSON.stringify(argument)}.`,
    );
  }
  return {
    job: job as string | undefined,
    version: version as string | undefined,
    preselect: preselect as string | undefined,
    input: typeof input === 'string' ? vscode.Uri.file(input) : (input as vscode.Uri | undefined),
  };
}
