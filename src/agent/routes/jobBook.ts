/** The jobs running now (for GET /v1/jobs) and the counts of GET /monitor/status. */
import { randomUUID } from 'node:crypto';

import type { RunningJob } from '../../api/contract';

export interface JobTicket {
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly startedAtMs: number;
  readonly controller: AbortController;
}

export class JobBook {
  private readonly running = new Map<string, JobTicket>();
  private started = 0;
  private failed = 0;

  start(name: string, version: string): JobTicket {
    const ticket: JobTicket = { id: randomUUID(), name, version, startedAtMs: Date.now(), controller: new AbortController() };
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
    for (const job of this.running.values()) job.controller.abort();
  }
}
