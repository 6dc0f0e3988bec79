/** What every route handler works with: one per agent. */
import type { Extension } from '../runner/extensions';
import type { ComponentCache } from '../runner/component/cache';
import type { JobOutcome, JobRequest } from '../runner/types';
import type { JobStore } from '../storage';
import type { AgentLog } from '../types';
import type { UploadChecks } from '../checks/uploadChecks';
import type { JobBook } from './jobBook';

/** The part of the runner the routes use (the pool's JobRunner has this shape). */
export interface JobExecutor {
  run(request: JobRequest): Promise<JobOutcome>;
  /** Throws QueueFullError when a job with this much input could not even wait for a worker. */
  checkRoom?(inputBytes: number): void;
  close(): Promise<void> | void;
  /** Where uploads of components are transpiled (once per content), for the runs to find. */
  readonly components: ComponentCache;
}

export interface AgentContext {
  storage: JobStore;
  runner: JobExecutor;
  jobs: JobBook;
  log: AgentLog;
  maxBodyBytes: number;
  /** The extensions jobs may link, by name (`serval agent --extensions`). */
  extensions: ReadonlyMap<string, Extension>;
  /** The job memory limit: a version's files must fit it, unpacked (they live in memory while it runs). */
  jobMemoryBytes: number;
  maxManifestBytes: number;
  /** Manifest and module checks of uploads, off the main thread. */
  checks: UploadChecks;
  instanceId: string;
  version: string;
  startedAtMs: number;
  /** Set once close() began: jobs aborted from then on are answered 503, not dropped. */
  closing: boolean;
}
