import { UserFacingError } from '../errors';

export interface RunArgument {
  job: string;
  version?: string;
  /** Arguments after argv[0]; replace the manifest's `args`. */
  args?: string[];
  /** Environment over the manifest's `[env]`: `{ "KEY": "value" }` or `["KEY=value"]`. */
  env?: Record<string, string> | string[];
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
  const { job, version, args, env } = argument as { job?: unknown; version?: unknown; args?: unknown; env?: unknown };
  if (typeof job !== 'string' || job === '' || (version !== undefined && typeof version !== 'string') || !validArgs(args) || !validEnv(env)) {
    throw new UserFacingError(
      `The argument of the run command must be { "job": "<namespace.name>", "version"?: "<version>", "args"?: ["<argument>", …], "env"?: { "<KEY>": "<value>", … } }, not ${JSON.stringify(argument)}.`,
    );
  }
  return { job, ...(version !== undefined && { version }), ...(args !== undefined && { args }), ...(env !== undefined && { env }) };
}

function validArgs(args: unknown): args is string[] | undefined {
  return args === undefined || (Array.isArray(args) && args.every((a) => typeof a === 'string'));
}

function validEnv(env: unknown): env is Record<string, string> | string[] | undefined {
  if (env === undefined) return true;
  if (Array.isArray(env)) return env.every((e) => typeof e === 'string' && e.indexOf('=') > 0);
  return typeof env === 'object' && env !== null && Object.entries(env).every(([k, v]) => k !== '' && !k.includes('=') && typeof v === 'string');
}
