/** The client's view of a run; the wire types themselves live in src/api/contract.ts. */
import type { JobLimit } from '../api/contract';

export type { AgentStatus, ExecutableInfo, JobLimit, RunningJob } from '../api/contract';
export { HEADERS } from '../api/contract';

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
