/**
 * Opening the store that `serval agent --storage` names: a folder (the local backend) or
 * `s3://BUCKET[/PREFIX]` (the S3 backend). Everything else imports the contract from here.
 */
import type { AgentLog } from '../types';
import type { JobStore } from './contract';
import { LocalJobStore } from './local';

export * from './contract';
export { LocalJobStore, contentFile } from './local';
export { sriOf } from './durable';
export { StoreInUseError, readAgentLock, isAlive, type AgentLockInfo } from './agentLock';

/** Whether `location` names an object store rather than a folder. */
export function isObjectStoreLocation(location: string): boolean {
  return /^s3:\/\//i.test(location);
}

/** What only the S3 backend needs (flags and variables of `serval agent`). */
export type { S3StoreOptions as ObjectStoreOptions } from './s3/s3Store';

export async function openJobStore(
  location: string,
  log: AgentLog,
  objectStore: import('./s3/s3Store').S3StoreOptions = {},
): Promise<JobStore> {
  if (!isObjectStoreLocation(location)) return LocalJobStore.open(location, log);
  // Loaded only for s3:// stores: an agent on a folder never evaluates the AWS SDK.
  const { openS3Store } = await import('./s3/s3Store');
  return openS3Store(location, log, objectStore);
}
