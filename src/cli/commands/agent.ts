import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_MAX_MANIFEST_BYTES, startAgent, stderrLog } from '../../agent';
import { DEFAULT_MAX_CONNECTIONS } from '../../agent/http/connections';
import { checkOrigin } from '../../agent/http/guards';
import { isObjectStoreLocation } from '../../agent/storage';
import type { AgentOptions } from '../../agent/types';
import { DEFAULT_MAX_QUEUED_INPUT_BYTES, DEFAULT_MAX_QUEUED_JOBS, DEFAULT_MODULE_CACHE_BYTES } from '../../agent/runner/pool';
import { DEFAULT_JOB_LIMITS } from '../../agent/runner/types';
import { integerOption, parseCommandArgs } from '../args';
import type { Command } from '../command';
import { CliError, UsageError } from '../errors';
import { EXIT } from '../exitCodes';
import { writeFully, type CliIo } from '../io';

const DEFAULT_PORT = 8100;
const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;
const MIB = 1024 * 1024;

const AGENT_OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  storage: { type: 'string' },
  's3-endpoint': { type: 'string' },
  's3-cache': { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  'allow-host': { type: 'string', multiple: true },
  'allow-origin': { type: 'string', multiple: true },
  'job-timeout-ms': { type: 'string' },
  'job-memory-mb': { type: 'string' },
  'job-output-bytes': { type: 'string' },
  'max-body-bytes': { type: 'string' },
  'max-queued-jobs': { type: 'string' },
  'max-queued-input-mb': { type: 'string' },
  'module-cache-mb': { type: 'string' },
  'workers-only': { type: 'boolean' },
  'max-manifest-bytes': { type: 'string' },
  'max-connections': { type: 'string' },
  extensions: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const agentCommand: Command = {
  name: 'agent',
  summary: 'run an agent that stores and runs jobs',
  help: `Usage: serval agent [options]

Runs an agent until SIGTERM or SIGINT (Ctrl-C). Once it listens it prints one line on stdout,
\`listening on http://HOST:PORT\` (the real port); its log goes to stderr as JSON lines.

Options:
  --host H              address to listen on (default 127.0.0.1; 0.0.0.0 opens it to the network)
  --port P              port (default ${DEFAULT_PORT}; 0 = any free port)
  --storage DIR|s3://BUCKET[/PREFIX]
                        where jobs are stored (default: ${defaultStorageDir(process.env)}); an
                        s3:// store is shared by every agent started on it (docs/scaling.md),
                        with credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION
  --s3-endpoint URL     the S3-compatible store, e.g. http://127.0.0.1:7480 (default: $AWS_ENDPOINT_URL, else AWS)
  --s3-cache DIR        this agent's cache of downloaded blobs (default: a folder per port under the data folder)
  --token-file PATH     require \`Authorization: Bearer T\`, T read from this file (recommended)
  --token T             the same with T given here; other users can read it in the process list
                        (default: $SERVAL_AGENT_TOKEN; no token if neither is set)
  --allow-host NAME     also accept requests for this host name (repeatable; guards against DNS rebinding)
  --allow-origin ORIGIN let web pages of this origin use the agent, e.g. http://localhost:3000
                        (repeatable; pages of any other origin are refused)
  --job-timeout-ms N    time limit of one job (default ${DEFAULT_JOB_LIMITS.timeoutMs})
  --job-memory-mb N     memory limit of one job in MiB (default ${DEFAULT_JOB_LIMITS.memoryBytes / MIB})
  --job-output-bytes N  output limit of one job (default ${DEFAULT_JOB_LIMITS.outputBytes})
  --max-body-bytes N    largest request body: manifest, executable or input (default ${DEFAULT_MAX_BODY_BYTES})
  --max-manifest-bytes N  largest manifest (default ${DEFAULT_MAX_MANIFEST_BYTES})
  --max-connections N   open connections at most; more are answered 503 (default ${DEFAULT_MAX_CONNECTIONS})
  --max-queued-jobs N   jobs that may wait for a busy worker; more are answered 503 (default ${DEFAULT_MAX_QUEUED_JOBS})
  --max-queued-input-mb N  MiB of input that waiting jobs may hold; more is answered 503 (default ${DEFAULT_MAX_QUEUED_INPUT_BYTES / MIB})
  --module-cache-mb N   MiB of compiled executables kept for the next runs (default ${DEFAULT_MODULE_CACHE_BYTES / MIB})
  --workers-only        run every job in a worker thread; by default a job that proved quick runs on
                        the agent's own thread, metered so that it stops within milliseconds
  --extensions DIR      every DIR/*.wasm is an extension named by its file stem, which jobs that list
                        it in required_extensions link by import (default: $EXTENSIONS_PATH; none)
  -h, --help            this help`,

  async run(args, { io, signal }) {
    const { values } = parseCommandArgs('agent', args, AGENT_OPTIONS, 0);
    const options = agentOptionsFrom(values, io);
    const agent = await startAgent(options).catch((error: unknown) => {
      throw listenError(error, options) ?? error;
    });
    await writeFully(io.stdout, `listening on ${agent.url}\n`);
    const signalName = await stopRequested(signal);
    options.log?.('info', 'stopping the agent', { signal: signalName });
    await agent.close();
    return EXIT.ok;
  },
};

type AgentValues = ReturnType<typeof parseCommandArgs<typeof AGENT_OPTIONS>>['values'];

function agentOptionsFrom(values: AgentValues, io: CliIo): AgentOptions {
  const number = (option: keyof typeof AGENT_OPTIONS, min: number, max: number) =>
    integerOption(values[option] as string | undefined, option, min, max, 'agent');
  const memoryMb = number('job-memory-mb', 1, 4096);
  const port = number('port', 0, 65535) ?? DEFAULT_PORT;
  const storage = storageLocation(values, io);
  return {
    // One log format on stderr, the agent's JSON lines, so that the extension can parse them all.
    log: stderrLog(),
    host: values.host ?? '127.0.0.1',
    port,
    storageDir: storage,
    objectStore: isObjectStoreLocation(storage)
      ? {
          env: io.env,
          endpoint: values['s3-endpoint'],
          cacheDir: values['s3-cache'] === undefined ? defaultS3CacheDir(io.env, values['s3-endpoint'], storage, port) : path.resolve(io.cwd, values['s3-cache']),
        }
      : undefined,
    token: tokenFrom(values, io),
    allowHosts: values['allow-host'] ?? [],
    allowOrigins: (values['allow-origin'] ?? []).map(checkedOrigin),
    limits: {
      timeoutMs: number('job-timeout-ms', 1, 24 * 3600 * 1000) ?? DEFAULT_JOB_LIMITS.timeoutMs,
      memoryBytes: memoryMb === undefined ? DEFAULT_JOB_LIMITS.memoryBytes : memoryMb * MIB,
      outputBytes: number('job-output-bytes', 1, 2 ** 32) ?? DEFAULT_JOB_LIMITS.outputBytes,
    },
    maxBodyBytes: number('max-body-bytes', 1, 2 ** 32) ?? DEFAULT_MAX_BODY_BYTES,
    maxQueuedJobs: number('max-queued-jobs', 0, 1_000_000),
    maxQueuedInputBytes: mebibytes(number('max-queued-input-mb', 0, 1024 * 1024)),
    moduleCacheBytes: mebibytes(number('module-cache-mb', 0, 1024 * 1024)),
    mainThreadRuns: values['workers-only'] !== true,
    maxManifestBytes: number('max-manifest-bytes', 1, 2 ** 32),
    connections: { maxConnections: number('max-connections', 1, 1_000_000) ?? DEFAULT_MAX_CONNECTIONS },
    extensionsDir: extensionsDir(values, io),
  };
}

/** --extensions, else the seed agent's EXTENSIONS_PATH; relative to the working folder. */
function extensionsDir(values: AgentValues, io: CliIo): string | undefined {
  const dir = values.extensions ?? (io.env.EXTENSIONS_PATH || undefined);
  return dir === undefined ? undefined : path.resolve(io.cwd, dir);
}

/**
 * The token from --token, --token-file or $SERVAL_AGENT_TOKEN. An empty one is refused: the agent
 * would start and then refuse every request, which looks like a broken agent.
 */
function tokenFrom(values: AgentValues, io: CliIo): string | undefined {
  if (values.token !== undefined && values['token-file'] !== undefined) {
    throw new UsageError('give the token with --token or --token-file, not both', 'agent');
  }
  if (values.token !== undefined) {
    if (values.token.trim() === '') {
      throw new UsageError('--token is empty; give a token, or leave --token out to run the agent without one', 'agent');
    }
    return values.token;
  }
  if (values['token-file'] !== undefined) return tokenFromFile(path.resolve(io.cwd, values['token-file']));
  return io.env.SERVAL_AGENT_TOKEN || undefined;
}

/** The file's content without surrounding white space (editors and `echo` add a line break). */
function tokenFromFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'cannot be read (permissions)' : `cannot be read (${code ?? String(error)})`;
    throw new CliError(`the token file ${file} given with --token-file ${why}`);
  }
  const token = text.trim();
  if (token === '') throw new CliError(`the token file ${file} given with --token-file is empty; write the token into it`);
  return token;
}

function checkedOrigin(origin: string): string {
  const problem = checkOrigin(origin);
  if (problem !== undefined) throw new UsageError(`--allow-origin: ${problem}`, 'agent');
  return origin;
}

function mebibytes(value: number | undefined): number | undefined {
  return value === undefined ? undefined : value * MIB;
}

/** A clear message for the usual reasons an agent cannot listen; undefined for the others. */
function listenError(error: unknown, { host, port }: AgentOptions): CliError | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') {
    return new CliError(`port ${port} on ${host} is already in use: stop what uses it, or pick another with --port (0 = any free port)`);
  }
  if (code === 'EACCES') return new CliError(`not allowed to listen on ${host}:${port}: pick a port above 1023 with --port`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return new CliError(`cannot listen on ${host}: it is not an address of this machine (use 127.0.0.1, or 0.0.0.0 for all)`);
  }
  return undefined;
}

function storageLocation(values: AgentValues, io: CliIo): string {
  const given = values.storage ?? defaultStorageDir(io.env);
  if (isObjectStoreLocation(given)) return given;
  if (values['s3-endpoint'] !== undefined || values['s3-cache'] !== undefined) {
    throw new UsageError('--s3-endpoint and --s3-cache go with --storage s3://BUCKET[/PREFIX]', 'agent');
  }
  return path.resolve(io.cwd, given);
}

/**
 * One cache per agent (per store and port), kept across restarts so a restarted agent's hot runs
 * need no download; with --port 0 the store uses a temporary one.
 */
function defaultS3CacheDir(env: NodeJS.ProcessEnv, endpoint: string | undefined, storage: string, port: number): string | undefined {
  if (port === 0) return undefined;
  const store = createHash('sha256').update(`${endpoint ?? env.AWS_ENDPOINT_URL ?? ''}|${storage}`).digest('hex').slice(0, 16);
  return path.join(path.dirname(defaultStorageDir(env)), 's3-cache', `${store}-${port}`);
}

/** The per-user data folder of the platform, as other tools use it. */
export function defaultStorageDir(env: NodeJS.ProcessEnv): string {
  const home = os.homedir();
  if (process.platform === 'win32') return path.join(env.LOCALAPPDATA || path.join(home, 'AppData', 'Local'), 'serval', 'storage');
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'serval', 'storage');
  return path.join(env.XDG_DATA_HOME || path.join(home, '.local', 'share'), 'serval', 'storage');
}

/** Resolves with the signal's name once main.ts aborts `signal` on SIGTERM or SIGINT. */
function stopRequested(signal: AbortSignal): Promise<string> {
  const nameOf = () => (typeof signal.reason === 'string' ? signal.reason : 'stop requested');
  if (signal.aborted) return Promise.resolve(nameOf());
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(nameOf()), { once: true }));
}
