/**
 * What a run of one version needs besides its executable and stdin: the manifest's defaults
 * (args, env, required extensions), parsed once per manifest content and kept.
 */
import { LruMap } from '../runner/lru';
import type { AgentContext } from './context';
import type { RunDefaults } from './runInputs';

export interface VersionSetup extends RunDefaults {
  requiredExtensions: readonly string[];
}

const NO_DEFAULTS: VersionSetup = { args: [], env: {}, requiredExtensions: [] };
/** Keyed by the manifest's integrity: content never changes behind one. */
const parsed = new LruMap<string, VersionSetup>(256);

export async function versionSetup(agent: AgentContext, name: string, version: string): Promise<VersionSetup> {
  const integrity = (await agent.storage.manifestInfo(name, version))?.integrity;
  if (integrity === undefined) return NO_DEFAULTS;
  const kept = parsed.get(integrity);
  if (kept) return kept;
  const stored = await agent.storage.readManifest(name, version);
  // In the check worker: a 1 MiB manifest takes the parser a while, and runs must not wait on it.
  const setup: VersionSetup = (stored && (await agent.checks.runDefaults(stored.text))) || NO_DEFAULTS;
  parsed.set(integrity, setup);
  return setup;
}
