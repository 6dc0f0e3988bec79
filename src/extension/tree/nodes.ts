import type { ExtensionInfo } from '../../api/contract';
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
  /** True when the job is known to have no stored version (all were deleted, or a publish stopped halfway). */
  isEmpty: boolean;
}

/** One uploaded executable of a job. */
export interface VersionNode {
  kind: 'version';
  manifest: ManifestNode;
  executable: ExecutableInfo;
  isCurrent: boolean;
}

/** Shown instead of the agent when it cannot be queried; clicking it does what the message says. */
export interface ErrorNode {
  kind: 'error';
  message: string;
  /** The agent refused the request for want of a (right) token: clicking the node sets it. */
  needsToken: boolean;
}

/** A row that is not a stored thing but says why there is none, with the command that helps. */
export interface NoticeNode {
  kind: 'notice';
  /** Stable id of the row, e.g. `notice:stopped`. */
  id: string;
  message: string;
  icon: string;
  command: { command: string; title: string };
  /** The job it belongs to (an empty job's row), for `TreeView.reveal`. */
  manifest?: ManifestNode;
}

/** The agent's extensions (`serval agent --extensions`), after its jobs; only when it has some. */
export interface ExtensionsNode {
  kind: 'extensions';
  agent: AgentNode;
  extensions: readonly ExtensionInfo[];
}

/** One extension: jobs that list it in required_extensions link its exports. */
export interface ExtensionNode {
  kind: 'extension';
  parent: ExtensionsNode;
  info: ExtensionInfo;
}

export type JobsNode = AgentNode | ManifestNode | VersionNode | ErrorNode | NoticeNode | ExtensionsNode | ExtensionNode;

/** Tree item contextValues; package.json menus match on them. */
export const CONTEXT_VALUES = {
  agent: 'serval.agent',
  manifest: 'serval.manifest',
  emptyManifest: 'serval.manifest.empty',
  version: 'serval.version',
  currentVersion: 'serval.version.current',
  error: 'serval.error',
  notice: 'serval.notice',
  extensions: 'serval.extensions',
  extension: 'serval.extension',
} as const;
