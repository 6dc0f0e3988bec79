/**
 * Stores written by agent 0.1 kept their catalog in cacache's index (keys such as
 * `sh.serval.x@1.wasm` with metadata `{kind, name, version}`). The first open by this agent reads
 * it once into the journal; the index itself is left untouched (an older agent can still read it).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import * as cacache from 'cacache';

import type { AgentLog } from '../types';
import type { JournalRecord } from './journal';

export async function importLegacyIndex(location: string, log: AgentLog): Promise<JournalRecord[]> {
  const hasIndex = await fs.stat(path.join(location, 'index-v5')).then(
    () => true,
    () => false,
  );
  if (!hasIndex) return [];
  const records: JournalRecord[] = [];
  for (const entry of Object.values(await cacache.ls(location))) {
    const meta = entry.metadata as { kind?: unknown; name?: unknown; version?: unknown } | undefined;
    if (typeof meta?.name !== 'string' || typeof meta.version !== 'string' || typeof entry.size !== 'number') continue;
    const kind = meta.kind === 'manifest' ? 'manifest' : meta.kind === 'executable' ? 'executable' : undefined;
    const expectedKey = kind === 'manifest' ? `${meta.name}@${meta.version}.manifest.toml` : `${meta.name}@${meta.version}.wasm`;
    if (!kind || entry.key !== expectedKey) continue;
    records.push({ op: 'put', kind, name: meta.name, version: meta.version, integrity: entry.integrity, size: entry.size, at: entry.time });
  }
  records.sort((a, b) => (a.op === 'put' && b.op === 'put' ? a.at - b.at : 0));
  log('info', 'carried the catalog of an agent 0.1 store over to this agent', { entries: records.length });
  return records;
}
