import { UserFacingError } from '../errors';

export interface RunArgument {
  job: string;
  version?: string;
}

/**
 * The optional argument of the run commands, as written in keybindings.json:
 * `{ "job": "sh.serval.loudify", "version": "1.0.0" }`. A wrong shape is reported, not ignored,
 * so a typo in a keybinding does not silently open a picker. Undefined when none was given.
 */
export function parseRunArgument(argument: unknown): RunArgument | undefined {
  if (argument === undefined || argument === null) return undefined;
  // Editor title and context menus pass the document's Uri: that means "ask which job".
  if (typeof argument === 'object' && !('job' in argument)) return undefined;
  const { job, version } = argument as { job?: unknown; version?: unknown };
  if (typeof job !== 'string' || job === '' || (version !== undefined && typeof version !== 'string')) {
    throw new UserFacingError(
      `The argument of the run command must be { "job": "<namespace.name>", "version"?: "<version>" }, not ${JSON.stringify(argument)}.`,
    );
  }
  return { job, version };
}
