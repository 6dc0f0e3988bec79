import type { ExecutableInfo } from '../../client/types';

/** A stored manifest: the job. */
export interface ManifestNode {
  kind: 'manifest';
  fqName: string;
  /** From the stored manifest; undefined if it could not be read. */
  description?: string;
  /** The manifest's `version`: the one a run without a version uses. */
  currentVersion?: string;
}

/** One uploaded executable of a job. */
export interface VersionNode {
  kind: 'version';
  manifest: ManifestNode;
  executable: ExecutableInfo;
  isCurrent: boolean;
}

/** Shown instead of the jobs when the agent cannot be queried; its inline action retries. */
export interface ErrorNode {
  kind: 'error';
  message: string;
}

export type JobsNode = ManifestNode | VersionNode | ErrorNode;

/** Tree item contextValues; package.json menus match on them. */
export const CONTEXT_VALUES = {
  manifest: 'serval.manifest',
  version: 'serval.version',
  currentVersion: 'serval.version.current',
  error: 'serval.error',
} as const;

/** Newest first, by upload time; the agent sends them so, but a remote one may be older. */
export function newestFirst(executables: readonly ExecutableInfo[]): ExecutableInfo[] {
  return [...executables].sort((a, b) => Date.parse(b.stored_at) - Date.parse(a.stored_at));
}
