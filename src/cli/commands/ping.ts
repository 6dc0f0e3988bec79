import { performance } from 'node:perf_hooks';
import { CLIENT_OPTIONS, clientOptionsHelp, clientFrom, parseCommandArgs } from '../args';
import type { Command } from '../command';
import { UnauthorizedError } from '../../client/errors';
import { CliError, tokenMessage } from '../errors';
import { EXIT } from '../exitCodes';
import { writeFully } from '../io';

export const pingCommand: Command = {
  name: 'ping',
  summary: 'check that the agent answers',
  help: `Usage: serval ping [options]

Checks that an agent answers at the URL, and how fast, and that it accepts the token (the ping
itself needs none: an agent started with a token answers it for anybody).

Options:
${clientOptionsHelp()}`,

  async run(args, { io, signal }) {
    const { values } = parseCommandArgs('ping', args, CLIENT_OPTIONS, 0);
    const client = clientFrom(values, io);
    const started = performance.now();
    await client.ping({ signal });
    const elapsedMs = Math.round(performance.now() - started);
    // An answered ping says nothing about the token: every other request needs it.
    await client.status({ signal }).catch((error: unknown) => {
      throw error instanceof UnauthorizedError ? new CliError(`${client.url} answers, but ${tokenMessage(error)}`, EXIT.refused) : error;
    });
    await writeFully(io.stdout, `pong from ${client.url} in ${elapsedMs} ms\n`);
    return EXIT.ok;
  },
};
