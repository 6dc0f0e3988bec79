/** GET /monitor/ping, GET /monitor/status, GET /v1/jobs, GET /v1/extensions. */
import type { AgentStatus, ExtensionInfo } from '../../api/contract';
import type { RequestContext } from '../http/router';
import { sendJson, sendText } from '../http/respond';
import type { AgentContext } from './context';

export function ping({ res }: RequestContext): void {
  sendText(res, 200, 'pong');
}

/** The agent's identity, uptime and counters; never the store's content. */
export async function status(agent: AgentContext, { res }: RequestContext): Promise<void> {
  const store = await agent.storage.status();
  const body: AgentStatus = {
    instance_id: agent.instanceId,
    version: agent.version,
    uptime_s: Math.floor((Date.now() - agent.startedAtMs) / 1000),
    storage: { location: store.location, backend: store.backend, damaged: store.damaged },
    jobs: agent.jobs.counts(),
  };
  sendJson(res, 200, body);
}

export function runningJobs(agent: AgentContext, { res }: RequestContext): void {
  sendJson(res, 200, agent.jobs.list());
}

/** The extensions jobs may link on this agent, by name. */
export function listExtensions(agent: AgentContext, { res }: RequestContext): void {
  const body: ExtensionInfo[] = [...agent.extensions.values()].map((extension) => extension.info);
  sendJson(res, 200, body);
}
