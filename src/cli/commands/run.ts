import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { RunResult } from '../../client/types';
import { CLIENT_OPTIONS, clientOptionsHelp, clientFrom, parseCommandArgs, requiredJobName } from '../args';
import type { Command } from '../command';
import { UsageError } from '../errors';
import { EXIT } from '../exitCodes';
import { readAll, writeFully, type CliIo } from '../io';

const RUN_OPTIONS = {
  ...CLIENT_OPTIONS,
  version: { type: 'string' },
  arg: { type: 'string', multiple: true },
  env: { type: 'string', multiple: true },
} as const;

export const runCommand: Command = {
  name: 'run',
  summary: 'run a stored job on some input',
  help: `Usage: serval run NAME [INPUT] [OUTPUT] [options]

Runs the job NAME (fully-qualified, e.g. sh.serval.loudify) with the file INPUT as its stdin
(stdin when omitted or -), and writes its output to the file OUTPUT (stdout when omitted or -).
Exits with the job's exit code; when it is not 0 the job's stderr is printed on stderr and OUTPUT
is left untouched.

The job's argv[0] is NAME; its arguments follow, from --arg (repeatable) and everything after
--, in order (they replace the manifest's \`args\` when given). Its environment is exactly the
manifest's [env] with each --env KEY=VALUE over it (never this shell's environment).

Options:
  --version V      run this stored version (default: the version published completely last)
  --arg A          an argument for the job (repeatable, in order)
  --env KEY=VALUE  an environment variable for the job (repeatable)
${clientOptionsHelp(19)}

Examples:
  echo hello | serval run sh.serval.loudify        # HELLO
  serval run sh.serval.grep in.txt --arg=-i --env LANG=fr -- pattern`,

  async run(args, { io, signal }) {
    const dashDash = args.indexOf('--');
    const own = dashDash < 0 ? args : args.slice(0, dashDash);
    const jobArgs = dashDash < 0 ? [] : args.slice(dashDash + 1);
    const { values, positionals } = parseCommandArgs('run', own, RUN_OPTIONS, 3);
    const name = requiredJobName(positionals[0], 'run');
    const [, inputFile, outputFile] = positionals;
    const env = (values.env ?? []).map((entry) => checkedEnv(entry));
    const runArgs = [...(values.arg ?? []), ...jobArgs];
    const client = clientFrom(values, io);
    const input = await readInput(inputFile, io);
    const result = await client.run(name, input, {
      version: values.version,
      args: runArgs.length > 0 ? runArgs : undefined,
      env,
      signal,
    });
    return report(result, outputFile, io);
  },
};

function checkedEnv(entry: string): string {
  if (entry.indexOf('=') <= 0) throw new UsageError(`--env takes KEY=VALUE with a non-empty KEY, not "${entry}"`, 'run');
  return entry;
}

async function readInput(file: string | undefined, io: CliIo): Promise<Uint8Array> {
  if (file !== undefined && file !== '-') return readFile(path.resolve(io.cwd, file));
  if (io.stdin.isTTY) await writeFully(io.stderr, 'reading the input from the terminal: end it with Ctrl-D\n');
  return readAll(io.stdin);
}

/** Writes what the job produced where it belongs; the exit code tells scripts what happened. */
async function report(result: RunResult, outputFile: string | undefined, io: CliIo): Promise<number> {
  if (result.limit === 'time') {
    await writeFully(io.stderr, withNewline(result.output));
    return EXIT.jobTimedOut;
  }
  if (result.exitCode !== 0) {
    // The body is the job's stderr here (then the trap's line, when it trapped).
    await writeFully(io.stderr, withNewline(result.output));
    return result.exitCode === undefined ? EXIT.failure : processExitCode(result.exitCode);
  }
  await writeOutput(result.output, outputFile, io);
  if (result.limit === 'output') {
    await writeFully(io.stderr, 'the output was cut at the agent\'s output limit: the job was stopped there\n');
    return EXIT.failure;
  }
  return EXIT.ok;
}

async function writeOutput(output: Uint8Array, file: string | undefined, io: CliIo): Promise<void> {
  if (file === undefined || file === '-') await writeFully(io.stdout, output);
  else await writeFile(path.resolve(io.cwd, file), output);
}

/** A process exit code is one byte; a job's code outside it still has to read as a failure. */
function processExitCode(code: number): number {
  return code > 0 && code < 256 ? code : EXIT.failure;
}

function withNewline(bytes: Uint8Array): Uint8Array {
  return bytes.length === 0 || bytes[bytes.length - 1] === 0x0a ? bytes : Buffer.concat([bytes, Buffer.from('\n')]);
}

