/**
 * The agent API's wire contract (docs/agent-api.md) in one module: route patterns, path builders,
 * header names and the JSON bodies' types. The agent routes by these patterns and the client builds
 * its requests with these paths, so neither side spells a route or a header by hand.
 */

/** Route patterns as the agent's router matches them (`:name` a fully-qualified name, `:version` a version). */
export const ROUTES = {
  ping: '/monitor/ping',
  status: '/monitor/status',
  runningJobs: '/v1/jobs',
  run: '/v1/jobs/:name/run',
  manifests: '/v1/storage/manifests',
  manifest: '/v1/storage/manifests/:name',
  executables: '/v1/storage/manifests/:name/executables',
  executable: '/v1/storage/manifests/:name/executable/:version',
  files: '/v1/storage/manifests/:name/files/:version',
  extensions: '/v1/extensions',
} as const;

/** Concrete request paths, parameters percent-encoded. */
export const PATHS = {
  manifest: (name: string): string => `${ROUTES.manifests}/${segment(name)}`,
  executables: (name: string): string => `${PATHS.manifest(name)}/executables`,
  executable: (name: string, version: string): string => `${PATHS.manifest(name)}/executable/${segment(version)}`,
  files: (name: string, version: string): string => `${PATHS.manifest(name)}/files/${segment(version)}`,
  run: (name: string): string => `${ROUTES.runningJobs}/${segment(name)}/run`,
} as const;

/** Content type of a version's files archive (a tar, optionally gzip-compressed). */
export const FILES_CONTENT_TYPE = 'application/x-tar';

/**
 * One path segment. `.` and `..` (also as `%2E`) are path steps to every URL parser, so they
 * would name another route: no name or version may be one, and none is ever sent.
 */
function segment(value: string): string {
  const encoded = encodeURIComponent(value);
  if (encoded === '.' || encoded === '..') throw new Error(`'${value}' cannot be a name or version: URLs read it as a path step`);
  return encoded;
}

/** Header names of the API, lower case as Node reports them. */
export const HEADERS = {
  exitCode: 'serval-exit-code',
  jobId: 'serval-job-id',
  durationMs: 'serval-duration-ms',
  trap: 'serval-trap',
  limit: 'serval-limit',
  integrity: 'serval-integrity',
} as const;

/** Which limit a job hit, as the `Serval-Limit` header says. */
export type JobLimit = 'time' | 'output';

/** One entry of `GET …/executables`. */
export interface ExecutableInfo {
  version: string;
  /** SRI, `sha256-…` */
  integrity: string;
  size: number;
  /** ISO 8601 */
  stored_at: string;
  /** The version's files archive (a tar), when one is stored. */
  files?: { integrity: string; size: number };
}

/** One entry of `GET /v1/extensions`. */
export interface ExtensionInfo {
  /** The import-module name jobs use (the file's stem). */
  name: string;
  integrity: string;
  size: number;
  /** Names of what it exports (functions, memories, globals, tables). */
  exports: string[];
}

/** One entry of `GET /v1/jobs`. */
export interface RunningJob {
  id: string;
  name: string;
  version: string;
  started_at: string;
}

/** The body of `GET /monitor/status`. */
export interface AgentStatus {
  instance_id: string;
  version: string;
  uptime_s: number;
  /**
   * `damaged`: stored blobs that failed their integrity check; they are kept out of service (not
   * listed, never run) and never deleted, until stored again or deleted by the user.
   */
  storage: {
    location: string;
    backend?: string;
    damaged?: Array<{ name: string; version: string; kind: 'manifest' | 'executable' | 'files'; integrity: string; problem: string }>;
  };
  jobs: { total: number; errors: number; running: number };
}
