import * as vscode from 'vscode';

import type { Ctx } from '../ctx';
import { envProblem, joinWords, RememberedRunInputs, splitWords } from '../run/runArguments';
import { runJobOnEditor } from '../run/runJob';
import { parseRunArgument } from './runArgument';
import { jobOf } from './treeArgument';

/**
 * Serval: Run Job with Arguments…: asks which job (unless given, as in a keybinding or the tree),
 * then its arguments and environment, each prefilled with what this job was last run with, and
 * runs it on the active editor. Escape at any question cancels.
 */
export const runWithArguments = (ctx: Ctx) => async (argument?: unknown) => {
  const given = isTreeNode(argument) ? undefined : parseRunArgument(argument);
  const job = given?.job ?? (await jobOf(ctx, argument, 'Run Job with Arguments'));
  if (!job) return undefined;
  const remembered = new RememberedRunInputs(ctx.workspaceState);
  const last = remembered.get(job);
  const argsLine = await vscode.window.showInputBox({
    title: `Run ${job} with Arguments (1/2)`,
    prompt: "Arguments after the job's name, separated by spaces; quote one that has spaces. Leave empty for the manifest's args.",
    value: joinWords(last?.args ?? []),
    ignoreFocusOut: true,
    validateInput: (line) => wordsProblem(line),
  });
  if (argsLine === undefined) return undefined;
  const envLine = await vscode.window.showInputBox({
    title: `Run ${job} with Arguments (2/2)`,
    prompt: "Environment variables as KEY=VALUE, separated by spaces; they override the manifest's [env].",
    value: joinWords(last?.env ?? []),
    ignoreFocusOut: true,
    validateInput: (line) => wordsProblem(line) ?? envProblem(splitWords(line)),
  });
  if (envLine === undefined) return undefined;
  const inputs = { args: splitWords(argsLine), env: splitWords(envLine) };
  await remembered.remember(job, inputs);
  return runJobOnEditor(ctx, { job, version: given?.version, args: inputs.args.length > 0 ? inputs.args : undefined, env: inputs.env });
};

function wordsProblem(line: string): string | undefined {
  try {
    splitWords(line);
    return undefined;
  } catch (error) {
    return `${(error as Error).message}; close it, or escape it with \\`;
  }
}

/** A job or version row of the tree (the inline and context menus pass it). */
function isTreeNode(argument: unknown): boolean {
  return typeof argument === 'object' && argument !== null && 'kind' in argument;
}
