import * as vscode from 'vscode';

import { UnauthorizedError } from '../../client/errors';
import type { Agents } from './agents';
import { describeAgentError } from '../errors';

export type AgentHealthState =
  | { kind: 'unknown' }
  | { kind: 'checking' }
  /** It answers requests that need its token, not only the public ping. */
  | { kind: 'ok' }
  /** The local agent is not running (not started yet, or died); it starts on next use. */
  | { kind: 'stopped' }
  /** The user stopped the local agent: it stays stopped until Start Local Agent. */
  | { kind: 'stoppedByUser' }
  /** It answers, but refuses the requests that need a token (none set, or the wrong one). */
  | { kind: 'refused'; message: string }
  | { kind: 'failing'; message: string };

/** While the view shows the agent: how often to look whether it still answers, and whether it is back. */
export const HEALTH_POLL_MS = { answering: 10_000, failing: 3_000 } as const;

/**
 * Whether the agent in use answers. Checked when the agent changes and after a failure; polled
 * only while someone looks (`watchWhile`: the Serval view is visible), so a hidden view costs a
 * remote agent nothing. When a failing agent answers again, `onDidReconnect` fires so that views
 * re-read what it stores.
 */
export class AgentHealth implements vscode.Disposable {
  private current: AgentHealthState = { kind: 'unknown' };
  private checkGeneration = 0;
  private pollTimer: NodeJS.Timeout | undefined;
  private watching = false;
  private readonly changed = new vscode.EventEmitter<AgentHealthState>();
  private readonly reconnected = new vscode.EventEmitter<void>();
  private readonly subscriptions: vscode.Disposable[];
  readonly onDidChange = this.changed.event;
  /** A failing (or refusing) agent answers again. */
  readonly onDidReconnect = this.reconnected.event;

  constructor(
    private readonly agents: Agents,
    private readonly pollMs: { answering: number; failing: number } = HEALTH_POLL_MS,
  ) {
    this.subscriptions = [
      this.changed,
      this.reconnected,
      agents.onDidChange(() => void this.check()),
      agents.onDidChangeLocalState(() => void this.check()),
    ];
  }

  get state(): AgentHealthState {
    return this.current;
  }

  /** Whether health is being polled (the view is visible). */
  get isPolling(): boolean {
    return this.watching;
  }

  /**
   * Polls while `visible` says so: a check at once when it becomes true, then one every
   * `pollMs.answering` (every `pollMs.failing` while the agent fails, to notice it coming back).
   */
  watchWhile(visible: boolean): void {
    if (visible === this.watching) return;
    this.watching = visible;
    this.cancelPoll();
    if (visible) void this.check();
  }

  /** Asks the agent in use. Never starts the local agent: a health check is not a use. */
  async check(): Promise<AgentHealthState> {
    const generation = ++this.checkGeneration;
    this.cancelPoll();
    if (!this.agents.isRemote && this.agents.localState !== 'running') {
      const state: AgentHealthState = this.localNotRunning();
      this.update(state);
      return state;
    }
    if (this.current.kind !== 'failing' && this.current.kind !== 'refused') this.update({ kind: 'checking' });
    let next: AgentHealthState;
    try {
      const client = await this.agents.getClient();
      // The ping is public: an agent that refuses every other request answers it too. The status
      // needs the token, so it tells whether the agent really serves us.
      await client.status({ signal: AbortSignal.timeout(10_000) });
      next = { kind: 'ok' };
    } catch (error) {
      const message = describeAgentError(error, this.agents.label, { tokenSet: await this.tokenSet() });
      next = error instanceof UnauthorizedError ? { kind: 'refused', message } : { kind: 'failing', message };
    }
    // A newer check (the agent changed meanwhile) wins over this one.
    if (generation === this.checkGeneration) {
      const wasDown = this.current.kind === 'failing' || this.current.kind === 'refused';
      this.update(next);
      if (wasDown && next.kind === 'ok') this.reconnected.fire();
      this.schedulePoll();
    }
    return next;
  }

  /** A request failed for a reason that may be the agent's: find out whether it still answers. */
  reportFailure(): void {
    void this.check();
  }

  /** A request succeeded: the agent answers, no check needed. */
  reportSuccess(): void {
    if (this.current.kind !== 'ok' && this.current.kind !== 'checking') {
      const wasDown = this.current.kind === 'failing' || this.current.kind === 'refused';
      this.update({ kind: 'ok' });
      if (wasDown) this.reconnected.fire();
    }
  }

  dispose(): void {
    this.watching = false;
    this.cancelPoll();
    for (const subscription of this.subscriptions) subscription.dispose();
  }

  private localNotRunning(): AgentHealthState {
    if (this.agents.localState === 'starting') return { kind: 'checking' };
    return this.agents.isLocalStoppedByUser ? { kind: 'stoppedByUser' } : { kind: 'stopped' };
  }

  private async tokenSet(): Promise<boolean | undefined> {
    return this.agents.isRemote ? this.agents.hasRemoteToken() : undefined;
  }

  private schedulePoll(): void {
    if (!this.watching) return;
    const down = this.current.kind === 'failing' || this.current.kind === 'refused';
    this.pollTimer = setTimeout(() => void this.check(), down ? this.pollMs.failing : this.pollMs.answering);
  }

  private cancelPoll(): void {
    clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
  }

  private update(state: AgentHealthState): void {
    const same = JSON.stringify(state) === JSON.stringify(this.current);
    this.current = state;
    if (!same) this.changed.fire(state);
  }
}
