import type { ExecutableInfo } from '../../client/types';

/** Newest first, by upload time; the agent sends them so, but a remote one may be older. */
export function newestFirst(executables: readonly ExecutableInfo[]): ExecutableInfo[] {
  return [...executables].sort((a, b) => Date.parse(b.stored_at) - Date.parse(a.stored_at));
}
