/**
 * `serval`: the agent and its client on the command line. A thin dispatcher: each command lives in
 * ./commands, and every failure ends here as one line on stderr and a documented exit code.
 */
import { version } from '../../package.json';
import type { Command } from './command';
import { agentCommand } from './commands/agent';
import { listCommand } from './commands/list';
import { pingCommand } from './commands/ping';
import { runCommand } from './commands/run';
import { storeCommand } from './commands/store';
import { testCommand } from './commands/test';
import { versionsCommand } from './commands/versions';
import { UsageError, exitCodeOf, messageOf } from './errors';
import { EXIT, EXIT_CODES_HELP } from './exitCodes';
import { processIo, writeFully, type CliIo } from './io';

export const COMMANDS: readonly Command[] = [agentCommand, storeCommand, runCommand, testCommand, listCommand, versionsCommand, pingCommand];

/** Options that take a value and may come before the command name (`serval --agent URL list`). */
const VALUE_OPTIONS = new Set(['--agent', '--token']);

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  const commands = COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join('\n');
  return `Usage: serval COMMAND [options]      (serval help COMMAND, or serval COMMAND --help, for its options)

Store and run WebAssembly (WASI) jobs on a Serval agent.

Commands:
${commands}

Options of every client command:
  --agent URL   the agent (default: $SERVAL_NODE_URL, else http://127.0.0.1:8100)
  --token T     the agent's token (default: $SERVAL_AGENT_TOKEN)
  --version     print serval's version

${EXIT_CODES_HELP}
`;
}

/** Runs one command line; resolves to the exit code. Never throws. */
export async function runCli(argv: readonly string[], io: CliIo, signal: AbortSignal): Promise<number> {
  try {
    const index = commandIndex(argv);
    if (index === -1) return await topLevel(argv, io);
    const args = [...argv.slice(0, index), ...argv.slice(index + 1)];
    if (argv[index] === 'help') return await help(args, io);
    const command = findCommand(argv[index]!);
    if (args.includes('--help') || args.includes('-h')) {
      await writeFully(io.stdout, `${command.help}\n`);
      return EXIT.ok;
    }
    return await command.run(args, { io, signal });
  } catch (error) {
    await writeFully(io.stderr, `serval: ${messageOf(error)}\n`);
    return exitCodeOf(error);
  }
}

function findCommand(name: string): Command {
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (command) return command;
  const close = closestName(name, [...COMMANDS.map((candidate) => candidate.name), 'help']);
  throw new UsageError(`unknown command "${name}"${close ? `; did you mean "${close}"?` : ''}`);
}

/** `serval help` prints the overview; `serval help COMMAND` that command's help. */
async function help(args: readonly string[], io: CliIo): Promise<number> {
  const name = args.find((arg) => !arg.startsWith('-'));
  await writeFully(io.stdout, name === undefined ? mainHelp() : `${findCommand(name).help}\n`);
  return EXIT.ok;
}

/** The known name within two edits of `name` (typos such as `lst`, `stroe`), if one is. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate);
    if (distance <= 2 && (!best || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

/** Levenshtein distance, with a swap of neighbours counted as one edit. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i]![j] = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) rows[i]![j] = Math.min(rows[i]![j]!, rows[i - 2]![j - 2]! + 1);
    }
  }
  return rows[a.length]![b.length]!;
}

/** No command: `--help`, `--version`, or a usage error. */
async function topLevel(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.includes('--version') || argv.includes('-V')) {
    await writeFully(io.stdout, `${version}\n`);
    return EXIT.ok;
  }
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
    await writeFully(argv.length === 0 ? io.stderr : io.stdout, mainHelp());
    return argv.length === 0 ? EXIT.usage : EXIT.ok;
  }
  throw new UsageError(`no command in "${argv.join(' ')}"`);
}

/** Index of the first argument that is neither an option nor an option's value; -1 when none. */
function commandIndex(argv: readonly string[]): number {
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (VALUE_OPTIONS.has(arg)) index++;
    else if (!arg.startsWith('-')) return index;
  }
  return -1;
}

/**
 * The first SIGINT/SIGTERM aborts the command's signal (client calls are cancelled, the agent
 * stops cleanly); a second one exits at once, for a stop that hangs. When a parent forked us with
 * an IPC channel (the VS Code extension does), its exit closes the channel: stop then too, so an
 * agent never outlives an editor that crashed.
 */
function abortOnSignals(): AbortSignal {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    controller.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  if (process.send) process.once('disconnect', () => controller.abort('parent exited'));
  return controller.signal;
}

/**
 * `serval run … | head -1`: the reader of stdout left and a write fails with EPIPE. A C tool dies
 * of SIGPIPE there, silently; Node ignores SIGPIPE and emits 'error' instead, which unheard would
 * crash with a stack trace. Other write errors reach the write that failed and are reported there.
 */
function exitQuietlyOnBrokenPipe(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(EXIT.brokenPipe);
  });
}

if (require.main === module) {
  exitQuietlyOnBrokenPipe();
  void runCli(process.argv.slice(2), processIo(), abortOnSignals()).then((code) => {
    // Exit explicitly: idle keep-alive sockets or a stopped agent's handles must not keep us alive.
    // Every write above was awaited, so nothing is lost.
    process.exit(code);
  });
}
