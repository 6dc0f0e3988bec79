/** Wire types of the agent API (../shared/agent-api.md), shared by the agent, the client and the CLI. */

export interface ExecutableInfo {
  version: string;
  /** SRI, `sha256-…` */
  integrity: string;
  size: number;
  /** ISO 8601 */
  stored_at: string;
}

export interface RunningJob {
  id: string;
  name: string;
  version: string;
  started_at: string;
}

export interface AgentStatus {
  instance_id: string;
  version: string;
  uptime_s: number;
  storage: { location: string };
  jobs: { total: number; errors: number; running: number };
}

/** Which limit a job hit, from the `Serval-Limit` header. */
export type JobLimit = 'time' | 'output';

export interface RunResult {
  /** `Serval-Exit-Code`; undefined when the job did not exit (trap or time limit). */
  exitCode: number | undefined;
  /** stdout when exitCode is 0, else stderr (then a line naming the trap, if any). */
  output: Uint8Array;
  trap?: string;
  limit?: JobLimit;
  jobId?: string;
  durationMs?: number;
}

/** Header names of the API, in one place. */
export const HEADERS = {
  exitCode: 'serval-exit-code',
  jobId: 'serval-job-id',
  durationMs: 'serval-duration-ms',
  trap: 'serval-trap',
  limit: 'serval-limit',
  integrity: 'serval-integrity',
} as const;
