import type { ExecutableInfo } from '../../client/types';
import { CLIENT_OPTIONS, clientOptionsHelp, clientFrom, parseCommandArgs, requiredJobName } from '../args';
import type { Command } from '../command';
import { EXIT } from '../exitCodes';
import { writeFully } from '../io';

export const versionsCommand: Command = {
  name: 'versions',
  summary: 'list the stored versions of a job',
  help: `Usage: serval versions NAME [options]

Prints the stored versions of the job NAME (fully-qualified, e.g. sh.serval.loudify), newest first:
version, size in bytes, when it was stored, and its integrity.

Options:
${clientOptionsHelp()}`,

  async run(args, { io, signal }) {
    const { values, positionals } = parseCommandArgs('versions', args, CLIENT_OPTIONS, 1);
    const name = requiredJobName(positionals[0], 'versions');
    const client = clientFrom(values, io);
    const executables = await client.listExecutables(name, { signal });
    if (executables.length === 0) {
      await writeFully(io.stderr, `${name} has no stored executable yet: store one with \`serval store MANIFEST\`\n`);
      return EXIT.ok;
    }
    await writeFully(io.stdout, versionTable(executables));
    return EXIT.ok;
  },
};

function versionTable(executables: readonly ExecutableInfo[]): string {
  const rows = [
    ['VERSION', 'SIZE', 'STORED', 'INTEGRITY'],
    ...executables.map((e) => [e.version, String(e.size), e.stored_at, e.integrity]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  '))
    .join('\n')
    .concat('\n');
}
