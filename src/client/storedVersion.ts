import type { AgentClient } from './client';
import { AgentHttpError, NotFoundError, UnsupportedByAgentError } from './errors';

/**
 * Integrity of the bytes an agent stores under a job's `version`, or undefined when it stores no
 * such version (or the job at all). Publishers ask before they replace a version: the same name and
 * version should always run the same bytes.
 */
export async function storedIntegrity(client: AgentClient, fqName: string, version: string, signal?: AbortSignal): Promise<string | undefined> {
  try {
    return (await client.listExecutables(fqName, { signal })).find((executable) => executable.version === version)?.integrity;
  } catch (error) {
    // A job never published, an agent too old to list versions, or one that cannot list them now
    // (5xx): nothing to replace that we can see; the upload itself reports a failing agent.
    if (error instanceof NotFoundError || error instanceof UnsupportedByAgentError) return undefined;
    if (error instanceof AgentHttpError && error.status >= 500) return undefined;
    throw error;
  }
}
