/** Why the runner did not run a job although nothing is wrong with it: the agent is overloaded. */

/** Every worker is busy and the queue is full: the job was not run. Retry after `retryAfterS`. */
export class QueueFullError extends Error {
  constructor(
    readonly retryAfterS: number,
    readonly why: 'jobs' | 'input',
  ) {
    super(why === 'jobs' ? 'the job queue is full' : 'the job queue holds as much input as this agent allows');
    this.name = 'QueueFullError';
  }
}

/** The job waited for a worker longer than its own time limit: it was not run (it would run late). */
export class QueueTimeoutError extends Error {
  constructor(
    readonly waitedMs: number,
    readonly retryAfterS: number,
  ) {
    super(`the job waited ${Math.round(waitedMs)} ms for a free worker, longer than its time limit, and was not run`);
    this.name = 'QueueTimeoutError';
  }
}
