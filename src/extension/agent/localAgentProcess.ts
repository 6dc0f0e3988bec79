/**
 * The embedded agent as a child process: `node dist/cli.js agent …`, forked the way language servers
 * are, so a runaway job or a crash in the agent can never freeze or take down the editor.
 * No `vscode` here: the extension passes a log sink, and unit tests drive it with a real CLI.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

import { parseAgentLogLine, type ParsedLogLine } from './agentLogLine';

export interface LocalAgentOptions {
  /** Path of the bundled CLI (`<extension>/dist/cli.js`). */
  cliPath: string;
  storageDir: string;
  token: string;
  jobTimeoutMs: number;
  jobMemoryMb: number;
  /** How long to wait for the `listening on …` line before giving up. */
  startTimeoutMs?: number;
  /** Receives every stderr line of the agent, parsed. */
  onLog: (line: ParsedLogLine) => void;
}

export interface AgentExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const LISTENING_LINE = /^listening on (http:\/\/\S+)\s*$/;
const DEFAULT_START_TIMEOUT_MS = 15_000;
const LOG_TAIL_LINES = 20;
const STOP_GRACE_MS = 3_000;

export class LocalAgentStartError extends Error {
  constructor(reason: string, logTail: readonly string[]) {
    const tail = logTail.length > 0 ? `\nLast lines of its log:\n${logTail.join('\n')}` : '';
    super(`The local Serval agent did not start: ${reason}.${tail}`);
    this.name = 'LocalAgentStartError';
  }
}

export class LocalAgentProcess {
  private exited = false;
  private stopping = false;
  private readonly exitListeners: Array<(exit: AgentExit) => void> = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly token: string,
  ) {
    child.once('exit', (code, signal) => {
      this.exited = true;
      // An exit we asked for is not news; only an unexpected one is reported.
      if (!this.stopping) for (const listener of this.exitListeners) listener({ code, signal });
    });
  }

  /** Starts the agent and resolves once it accepts connections. */
  static async start(options: LocalAgentOptions): Promise<LocalAgentProcess> {
    const child = fork(options.cliPath, agentArguments(options), {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: [],
      // In desktop VS Code process.execPath is Electron: make it behave as plain Node. The token goes
      // in the environment: on the command line other users could read it, and a random token that
      // starts with '-' reads as an option there.
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1', SERVAL_AGENT_TOKEN: options.token },
    });
    const logTail = forwardStderr(child, options.onLog);
    try {
      const url = await waitForListeningLine(child, options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS, logTail);
      return new LocalAgentProcess(child, url, options.token);
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get isRunning(): boolean {
    return !this.exited;
  }

  /** Called when the agent dies without having been asked to stop. */
  onUnexpectedExit(listener: (exit: AgentExit) => void): void {
    this.exitListeners.push(listener);
  }

  /** SIGTERM, then SIGKILL if it has not exited after a grace period. */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    this.stopping = true;
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

function agentArguments(options: LocalAgentOptions): string[] {
  return [
    'agent',
    '--host', '127.0.0.1',
    '--port', '0',
    '--storage', options.storageDir,
    '--job-timeout-ms', String(options.jobTimeoutMs),
    '--job-memory-mb', String(options.jobMemoryMb),
  ];
}

/** Sends stderr lines to the log and keeps the last few, to explain a failed start. */
function forwardStderr(child: ChildProcess, onLog: (line: ParsedLogLine) => void): string[] {
  const tail: string[] = [];
  if (!child.stderr) return tail;
  createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => {
    if (line.trim() === '') return;
    tail.push(line);
    if (tail.length > LOG_TAIL_LINES) tail.shift();
    onLog(parseAgentLogLine(line));
  });
  return tail;
}

function waitForListeningLine(child: ChildProcess, timeoutMs: number, logTail: readonly string[]): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const stdout = child.stdout ? createInterface({ input: child.stdout, crlfDelay: Infinity }) : undefined;
    const settle = (finish: () => void): void => {
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('error', onError);
      stdout?.off('line', onLine);
      finish();
    };
    const onLine = (line: string): void => {
      const match = LISTENING_LINE.exec(line);
      if (match) settle(() => resolve(match[1]));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      // Let the last stderr lines arrive before quoting them.
      setImmediate(() =>
        settle(() => reject(new LocalAgentStartError(`it exited (${describeExit({ code, signal })})`, logTail))),
      );
    };
    const onError = (error: Error): void =>
      settle(() => reject(new LocalAgentStartError(`it could not be launched (${error.message})`, logTail)));
    const timer = setTimeout(
      () => settle(() => reject(new LocalAgentStartError(`it did not report listening within ${timeoutMs} ms`, logTail))),
      timeoutMs,
    );
    stdout?.on('line', onLine);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

export function describeExit(exit: AgentExit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code ?? 'unknown'}`;
}
