import { createHash } from 'node:crypto';

/** The SRI integrity (`sha256-<base64>`) of some bytes, as the agent computes it. */
export function sriOf(bytes: Uint8Array): string {
  return `sha256-${createHash('sha256').update(bytes).digest('base64')}`;
}
