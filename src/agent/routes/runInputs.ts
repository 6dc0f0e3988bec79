/**
 * What a run gives the job besides stdin: `?arg=` and `?env=` of the request over the manifest's
 * `args` and `[env]` defaults. Bounded, so that a request cannot make the agent hold more than a
 * program could ever read (and within what fits a request line: Node takes 16 KiB of headers).
 */
import { HttpError } from '../http/respond';

/** At most this many `arg` and `env` parameters together. */
export const MAX_RUN_PARAMETERS = 1024;
/** At most this many bytes (UTF-8) of arguments and environment together. */
export const MAX_RUN_PARAMETER_BYTES = 8 * 1024;

export interface RunParameters {
  /** undefined: the request gave none (the manifest's `args` apply). */
  args: string[] | undefined;
  /** `KEY=VALUE`, in request order. */
  env: string[];
}

/** The manifest's defaults for a run. */
export interface RunDefaults {
  args: readonly string[];
  env: Readonly<Record<string, string>>;
}

/**
 * Reads every `arg` and `env` parameter of a query, in order, each decoded as a form's query is
 * (percent-encoded UTF-8, `+` a space): URLSearchParams and Python's urlencode send spaces
 * that way, and every encoder sends a plus sign as `%2B`.
 */
export function runParameters(query: string | undefined): RunParameters {
  const args: string[] = [];
  const env: string[] = [];
  let count = 0;
  let bytes = 0;
  for (const pair of query ? query.split('&') : []) {
    const equals = pair.indexOf('=');
    const key = equals < 0 ? pair : pair.slice(0, equals);
    if (key !== 'arg' && key !== 'env') continue;
    const value = decoded(key, equals < 0 ? '' : pair.slice(equals + 1));
    count++;
    bytes += Buffer.byteLength(value) + 1;
    if (count > MAX_RUN_PARAMETERS) {
      throw new HttpError(400, `a run takes at most ${MAX_RUN_PARAMETERS} arg and env parameters together; pass fewer (put bulk data on stdin or in the job's files)`);
    }
    if (bytes > MAX_RUN_PARAMETER_BYTES) {
      throw new HttpError(400, `a run's arg and env parameters take at most ${MAX_RUN_PARAMETER_BYTES} bytes together; pass less (put bulk data on stdin or in the job's files)`);
    }
    if (key === 'arg') args.push(value);
    else env.push(checkedEnvEntry(value));
  }
  return { args: args.length > 0 ? args : undefined, env };
}

function decoded(key: string, raw: string): string {
  try {
    const value = decodeURIComponent(raw.replace(/\+/g, ' '));
    if (value.includes('\0')) throw new HttpError(400, `?${key}= contains a NUL character, which no program can receive; leave it out`);
    return value;
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw new HttpError(400, `?${key}= is not valid percent-encoded UTF-8; encode each byte as %XX (e.g. encodeURIComponent)`);
  }
}

function checkedEnvEntry(entry: string): string {
  const equals = entry.indexOf('=');
  if (equals <= 0) {
    throw new HttpError(400, `?env=${encodeURIComponent(entry)} is not KEY=VALUE; send it as env=KEY%3DVALUE with a non-empty KEY`);
  }
  return entry;
}

/**
 * argv and environment of the run: argv[0] is the job's fully-qualified name; the request's
 * arguments replace the manifest's when it gives any; its env entries override the manifest's
 * by name in place (the last one given wins), new names following in request order.
 */
export function runArgv(name: string, parameters: RunParameters, defaults: RunDefaults): { args: string[]; env: string[] } {
  const args = [name, ...(parameters.args ?? defaults.args)];
  const env = new Map<string, string>(Object.entries(defaults.env));
  for (const entry of parameters.env) {
    const equals = entry.indexOf('=');
    const key = entry.slice(0, equals);
    env.set(key, entry.slice(equals + 1));
  }
  return { args, env: [...env].map(([key, value]) => `${key}=${value}`) };
}
