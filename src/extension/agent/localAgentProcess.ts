/**
 * The embedded agent as a child process: `node dist/cli.js agent …`, forked the way language servers
 * are, so a runaway job or a crash in the agent can never freeze or take down the editor.
 *
 * One agent per storage folder, shared by every window of one VS Code: the agent writes its pid,
 * URL and token into `<storage>/agent.lock` (mode 0600). A window that finds a live agent there
 * attaches to it instead of starting another; when the window that started it closes, the agent
 * stops with it (its lock removed), and the next window that needs an agent starts one on the same
 * folder: the catalogue is on disk, nothing is lost.
 * No `vscode` here: the extension passes a log sink, and unit tests drive it with a real CLI.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';

import { isAlive, readAgentLock, LOCK_FILE } from '../../agent/storage/agentLock';
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
  /** The agent of another window, which stopped as its window closed (not a crash). */
  ownerClosed?: boolean;
}

const LISTENING_LINE = /^listening on (http:\/\/\S+)\s*$/;
const DEFAULT_START_TIMEOUT_MS = 15_000;
const LOG_TAIL_LINES = 20;
const STOP_GRACE_MS = 3_000;
/** How often a window checks that the agent of another window it uses still runs. */
const ATTACHED_WATCH_MS = 1_000;
/** How long an attach waits for a starting agent of another window to listen. */
const ATTACH_WAIT_MS = 15_000;
const IN_USE = /is in use by another Serval agent/;

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
  private watch: NodeJS.Timeout | undefined;

  private constructor(
    /** Our own child, or undefined for the agent of another window that we attached to. */
    private readonly child: ChildProcess | undefined,
    readonly url: string,
    readonly token: string,
    private readonly attachedPid?: number,
    private readonly storageDir?: string,
  ) {
    child?.once('exit', (code, signal) => this.markExited({ code, signal }));
    if (!child) {
      this.watch = setInterval(() => void this.isRunning, ATTACHED_WATCH_MS);
      this.watch.unref();
    }
  }

  /**
   * The agent already running on `options.storageDir` (another window's), else a new one. Two
   * windows starting at once end up on the same agent: the one whose agent lost the race attaches.
   */
  static async startOrAttach(options: LocalAgentOptions): Promise<LocalAgentProcess> {
    const running = await LocalAgentProcess.attach(options.storageDir);
    if (running) return running;
    try {
      return await LocalAgentProcess.start(options);
    } catch (error) {
      if (!(error instanceof LocalAgentStartError && IN_USE.test(error.message))) throw error;
      const winner = await LocalAgentProcess.attach(options.storageDir, options.startTimeoutMs ?? ATTACH_WAIT_MS);
      if (winner) return winner;
      throw error;
    }
  }

  /**
   * Attaches to the live agent named by the folder's lock, once it answers with its token; waits up
   * to `waitMs` for one that is still starting. Undefined when there is none.
   */
  static async attach(storageDir: string, waitMs = 0): Promise<LocalAgentProcess | undefined> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const lock = await readAgentLock(storageDir);
      if (lock && isAlive(lock) && lock.url && (await answersWithToken(lock.url, lock.token))) {
        return new LocalAgentProcess(undefined, lock.url, lock.token ?? '', lock.pid, storageDir);
      }
      if (Date.now() >= deadline) return undefined;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** False for the agent of another window that this window uses. */
  get owned(): boolean {
    return this.child !== undefined;
  }

  private markExited(exit: AgentExit): void {
    if (this.exited) return;
    this.exited = true;
    if (this.watch) clearInterval(this.watch);
    // An exit we asked for is not news; only an unexpected one is reported.
    if (!this.stopping) for (const listener of this.exitListeners) listener(exit);
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
    return this.child ? this.child.pid : this.attachedPid;
  }

  get isRunning(): boolean {
    if (!this.exited && !this.child && !processRuns(this.attachedPid)) {
      // The window that ran it closed (its agent removed the lock), or it died (the lock stays).
      const lockRemains = this.storageDir !== undefined && existsSync(path.join(this.storageDir, LOCK_FILE));
      this.markExited({ code: null, signal: null, ownerClosed: !lockRemains });
    }
    return !this.exited;
  }

  /**
   * This window no longer needs the agent: our own one stops (SIGTERM, then SIGKILL); another
   * window's keeps running for that window.
   */
  async release(): Promise<void> {
    if (this.child) return this.stop();
    this.stopping = true;
    if (this.watch) clearInterval(this.watch);
  }

  /** Called when the agent dies without having been asked to stop. */
  onUnexpectedExit(listener: (exit: AgentExit) => void): void {
    this.exitListeners.push(listener);
  }

  /** SIGTERM, then SIGKILL if it has not exited after a grace period. */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    this.stopping = true;
    if (this.exited) return;
    const child = this.child;
    if (!child) return this.stopAttached(graceMs);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stop Local Agent in a window that uses another window's agent: it is the same agent for both. */
  private async stopAttached(graceMs: number): Promise<void> {
    const pid = this.attachedPid;
    if (this.watch) clearInterval(this.watch);
    if (pid === undefined) return;
    signal(pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (processRuns(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    if (processRuns(pid)) signal(pid, 'SIGKILL');
    this.exited = true;
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

function processRuns(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Gone already.
  }
}

/** Whether the agent at `url` answers an authenticated request (it is the one the lock names, and alive). */
async function answersWithToken(url: string, token: string | undefined): Promise<boolean> {
  try {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    const answer = await fetch(`${url}/monitor/status`, { headers, signal: AbortSignal.timeout(2_000) });
    await answer.arrayBuffer();
    return answer.ok;
  } catch {
    return false;
  }
}

export function describeExit(exit: AgentExit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code ?? 'unknown'}`;
}
