import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AgentClient } from '../client/client';
import { checkFullyQualifiedName } from '../manifest/names';
import { UsageError } from './errors';
import type { CliIo } from './io';

export const DEFAULT_AGENT_URL = 'http://127.0.0.1:8100';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Options every client command takes. */
export const CLIENT_OPTIONS = {
  agent: { type: 'string' },
  token: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

/** The help lines of CLIENT_OPTIONS, their descriptions starting at `column` (that of the command's other options). */
export function clientOptionsHelp(column = 16, agentNote = ''): string {
  const line = (option: string, text: string) => `  ${option.padEnd(column - 2)}${text}`;
  return [
    line('--agent URL', `the agent (default: $SERVAL_NODE_URL, else ${DEFAULT_AGENT_URL})${agentNote}`),
    line('--token T', "the agent's token (default: $SERVAL_AGENT_TOKEN)"),
    line('-h, --help', 'this help'),
  ].join('\n');
}

export interface Parsed<O extends Options> {
  values: { [K in keyof O]?: O[K] extends { type: 'boolean' } ? boolean : O[K] extends { multiple: true } ? string[] : string };
  positionals: string[];
}

/** node:util parseArgs, strict, with its errors turned into usage errors that name the command. */
export function parseCommandArgs<O extends Options>(command: string, args: string[], options: O, maxPositionals: number): Parsed<O> {
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(parseErrorMessage(error), command);
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(`too many arguments: ${parsed.positionals.slice(maxPositionals).join(' ')}`, command);
  }
  return parsed as Parsed<O>;
}

export function clientFrom(values: { agent?: string; token?: string }, io: CliIo): AgentClient {
  const url = values.agent ?? (io.env.SERVAL_NODE_URL || DEFAULT_AGENT_URL);
  const token = values.token ?? (io.env.SERVAL_AGENT_TOKEN || undefined);
  try {
    return new AgentClient({ url, token, timeoutMs: 30_000 });
  } catch (error) {
    throw new UsageError(firstLine(error));
  }
}

export function requiredPositional(value: string | undefined, what: string, command: string): string {
  if (value === undefined || value === '') throw new UsageError(`missing ${what}`, command);
  return value;
}

/** A job's fully-qualified name (`sh.serval.loudify`), or a usage error (exit code 2) that says what is wrong. */
export function requiredJobName(value: string | undefined, command: string): string {
  const name = requiredPositional(value, 'the job NAME, e.g. sh.serval.loudify', command);
  const problem = checkFullyQualifiedName(name);
  if (problem) throw new UsageError(`"${name}" is not a job name: ${problem}`, command);
  return name;
}

/** A whole number in [min, max], or a usage error that names the option. */
export function integerOption(value: string | undefined, option: string, min: number, max: number, command: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!/^\d+$/.test(value.trim()) || number < min || number > max) {
    throw new UsageError(`--${option} must be a whole number from ${min} to ${max}, not "${value}"`, command);
  }
  return number;
}

/** parseArgs explains at length ("… place it at the end of the command after '--' …"): keep the first sentence. */
function parseErrorMessage(error: unknown): string {
  const sentence = firstLine(error).split(/\. /, 1)[0] ?? '';
  return sentence.charAt(0).toLowerCase() + sentence.slice(1);
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n', 1)[0] ?? '';
}
