import type { Ctx } from '../ctx';
import { pickJob } from '../run/pickJob';
import { runJobOnEditor } from '../run/runJob';
import { parseRunArgument } from './runArgument';
import { asksForInputFile, parseArgument, runOnChosenFile } from './runOnFile';

/**
 * Serval: Run Job on Active File. With `{ job, version?, args?, env? }` (keybindings.json `args`, tests) it runs
 * that job without asking; else it asks which job, the last used first.
 */
export const runOnActiveFile = (ctx: Ctx) => async (argument?: unknown) => {
  // The manifest's "Run on…" CodeLens: its job first, on a file the user picks (never the manifest).
  if (asksForInputFile(argument)) return runOnChosenFile(ctx, parseArgument(argument));
  const given = parseRunArgument(argument);
  const job = given?.job ?? (await pickJob(ctx, 'Run Job on Active File'));
  if (!job) return undefined;
  return runJobOnEditor(ctx, { job, version: given?.version, args: given?.args, env: given?.env });
};
