import * as vscode from 'vscode';

import type { Agents } from './agents';
import { describeAgentError } from '../errors';

export type AgentHealthState =
  | { kind: 'unknown' }
  | { kind: 'checking' }
  | { kind: 'ok' }
  /** The local agent is not running (not started yet, stopped, or died); it starts on next use. */
  | { kind: 'stopped' }
  | { kind: 'failing'; message: string };

/**
 * Whether the agent in use answers. Checked when the agent changes and after a failure, never on a
 * timer: a remote agent is somebody's server, and the extension should not poll it.
 */
export class AgentHealth implements vscode.Disposable {
  private current: AgentHealthState = { kind: 'unknown' };
  private checkGeneration = 0;
  private readonly changed = new vscode.EventEmitter<AgentHealthState>();
  private readonly subscriptions: vscode.Disposable[];
  readonly onDidChange = this.changed.event;

  constructor(private readonly agents: Agents) {
    this.subscriptions = [
      agents.onDidChange(() => void this.check()),
      agents.onDidChangeLocalState(() => void this.check()),
    ];
  }

  get state(): AgentHealthState {
    return this.current;
  }

  /** Pings the agent in use. Never starts the local agent: a health check is not a use. */
  async check(): Promise<AgentHealthState> {
    const generation = ++this.checkGeneration;
    if (!this.agents.isRemote && this.agents.localState !== 'running') {
      const state: AgentHealthState = this.agents.localState === 'starting' ? { kind: 'checking' } : { kind: 'stopped' };
      this.update(state);
      return state;
    }
    this.update({ kind: 'checking' });
    let next: AgentHealthState;
    try {
      const client = await this.agents.getClient();
      await client.ping({ signal: AbortSignal.timeout(10_000) });
      next = { kind: 'ok' };
    } catch (error) {
      next = { kind: 'failing', message: describeAgentError(error, this.agents.label) };
    }
    // A newer check (the agent changed meanwhile) wins over this one.
    if (generation === this.checkGeneration) this.update(next);
    return next;
  }

  /** A request failed for a reason that may be the agent's: find out whether it still answers. */
  reportFailure(): void {
    void this.check();
  }

  /** A request succeeded: the agent answers, no ping needed. */
  reportSuccess(): void {
    if (this.current.kind !== 'ok' && this.current.kind !== 'checking') this.update({ kind: 'ok' });
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
    this.changed.dispose();
  }

  private update(state: AgentHealthState): void {
    this.current = state;
    this.changed.fire(state);
  }
}
