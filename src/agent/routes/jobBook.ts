/** The jobs running now (for GET /v1/jobs) and the counts of GET /monitor/status. */
import { randomUUID } from 'node:crypto';

import type { RunningJob } from '../../api/contract';
import type { JobCancellation } from '../runner/types';

/**
 * One run, from its request to its answer. It is also how the run is cancelled (the client left,
 * the agent is closing): a plain object the runner hooks into, not an AbortController per job,
 * which with its signal and listener was a tenth of the hot path's JavaScript.
 */
export class JobTicket implements JobCancellation {
  readonly id = randomUUID();
  readonly startedAtMs = Date.now();
  cancelled = false;
  onCancel: ((reason: unknown) => void) | undefined = undefined;

  constructor(
    readonly name: string,
    readonly version: string,
  ) {}

  /** Ends the run: a queued or running job stops, one not yet handed over is never started. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.onCancel?.(new DOMException('the run was cancelled', 'AbortError'));
  }
}

export class JobBook {
  private readonly running = new Map<string, JobTicket>();
  private started = 0;
  private failed = 0;

  start(name: string, version: string): JobTicket {
    const ticket = new JobTicket(name, version);
    this.running.set(ticket.id, ticket);
    this.started++;
    return ticket;
  }

  /** `failed`: the job did not exit with code 0 (non-zero exit, trap, limit, not runnable, damaged). */
  finish(ticket: JobTicket, failed: boolean): void {
    this.running.delete(ticket.id);
    if (failed) this.failed++;
  }

  list(): RunningJob[] {
    return [...this.running.values()].map((job) => ({
      id: job.id,
      name: job.name,
      version: job.version,
      started_at: new Date(job.startedAtMs).toISOString(),
    }));
  }

  counts(): { total: number; errors: number; running: number } {
    return { total: this.started, errors: this.failed, running: this.running.size };
  }

  abortAll(): void {
    for (const job of this.running.values()) job.cancel();
  }
}
