import type { Ctx } from '../ctx';
import { pickJob } from '../run/pickJob';
import { runJobOnEditor } from '../run/runJob';
import { parseRunArgument } from './runArgument';

/** Serval: Run Job on Selection: as Run Job on Active File, with the selected text as input. */
export const runOnSelection = (ctx: Ctx) => async (argument?: unknown) => {
  const given = parseRunArgument(argument);
  const job = given?.job ?? (await pickJob(ctx, 'Run Job on Selection'));
  if (!job) return undefined;
  return runJobOnEditor(ctx, { job, version: given?.version, selectionOnly: true });
};
