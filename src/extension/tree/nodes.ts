import type { ExecutableInfo } from '../../client/types';

/** The root: the agent in use. Its children are the jobs it stores. */
export interface AgentNode {
  kind: 'agent';
  isRemote: boolean;
  url: string;
  /** Whether requests carry a token (a remote agent's from SecretStorage; the local agent always has one). */
  hasToken: boolean;
  /** Fully-qualified names of the stored manifests, as listed when this node was made. */
  jobNames: readonly string[];
}

/** A stored manifest: the job. */
export interface ManifestNode {
  kind: 'manifest';
  /** The agent that stores it: the parent, for `TreeView.reveal`. */
  agent: AgentNode;
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

/** Shown instead of the agent when it cannot be queried; its inline action retries. */
export interface ErrorNode {
  kind: 'error';
  message: string;
  /** The agent refused the request for want of a (right) token: clicking the node sets it. */
  needsToken: boolean;
}

export type JobsNode = AgentNode | ManifestNode | VersionNode | ErrorNode;

/** Tree item contextValues; package.json menus match on them. */
export const CONTEXT_VALUES = {
  agent: 'serval.agent',
  manifest: 'serval.manifest',
  version: 'serval.version',
  currentVersion: 'serval.version.current',
  error: 'serval.error',
} as const;

/** Newest first, by upload time; the agent sends them so, but a remote one may be older. */
export function newestFirst(executables: readonly ExecutableInfo[]): ExecutableInfo[] {
  return [...executables].sort((a, b) => Date.parse(b.stored_at) - Date.parse(a.stored_at));
}
