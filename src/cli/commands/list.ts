import { CLIENT_OPTIONS, clientOptionsHelp, clientFrom, parseCommandArgs } from '../args';
import type { Command } from '../command';
import { EXIT } from '../exitCodes';
import { writeFully } from '../io';

export const listCommand: Command = {
  name: 'list',
  summary: 'list the jobs stored on the agent',
  help: `Usage: serval list [options]

Prints the fully-qualified name of every job stored on the agent, one a line, sorted.

Options:
${clientOptionsHelp()}`,

  async run(args, { io, signal }) {
    const { values } = parseCommandArgs('list', args, CLIENT_OPTIONS, 0);
    const client = clientFrom(values, io);
    const names = await client.listManifests({ signal });
    if (names.length === 0) {
      // On stderr: a script reading stdout sees an empty list, a person sees why.
      await writeFully(io.stderr, `no jobs are stored on ${client.url}: store one with \`serval store MANIFEST\`\n`);
      return EXIT.ok;
    }
    await writeFully(io.stdout, names.map((name) => `${name}\n`).join(''));
    return EXIT.ok;
  },
};
