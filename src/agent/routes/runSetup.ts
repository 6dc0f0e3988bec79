/**
 * What a run of one version needs besides its executable and stdin: the manifest's defaults
 * (args, env, required extensions), parsed once per manifest content and kept.
 */
import { checkManifest } from '../../manifest';
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
  const manifest = stored ? checkManifest(stored.text.toString('utf8')).manifest : undefined;
  const setup: VersionSetup = manifest
    ? { args: manifest.args, env: manifest.env, requiredExtensions: manifest.required_extensions }
    : NO_DEFAULTS;
  parsed.set(integrity, setup);
  return setup;
}
