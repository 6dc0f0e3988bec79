/**
 * Opening the store that `serval agent --storage` names: a folder (the local backend) or
 * `s3://BUCKET[/PREFIX]` (the S3 backend). Everything else imports the contract from here.
 */
import type { AgentLog } from '../types';
import { StorageError, type JobStore } from './contract';
import { LocalJobStore } from './local';

export * from './contract';
export { LocalJobStore, contentFile } from './local';
export { sriOf } from './durable';
export { StoreInUseError, readAgentLock, isAlive, type AgentLockInfo } from './agentLock';

/** Whether `location` names an object store rather than a folder. */
export function isObjectStoreLocation(location: string): boolean {
  return /^s3:\/\//i.test(location);
}

/** Backends other than the local one register here (the S3 backend does, from its own module). */
const objectStoreOpeners: Array<(location: string, log: AgentLog) => Promise<JobStore> | undefined> = [];

export function registerObjectStore(open: (location: string, log: AgentLog) => Promise<JobStore> | undefined): void {
  objectStoreOpeners.push(open);
}

export async function openJobStore(location: string, log: AgentLog): Promise<JobStore> {
  if (!isObjectStoreLocation(location)) return LocalJobStore.open(location, log);
  for (const open of objectStoreOpeners) {
    const store = open(location, log);
    if (store) return store;
  }
  throw new StorageError(500, `${location}: this build of the agent has no S3 storage; use a folder for --storage`);
}
