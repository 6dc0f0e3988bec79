import type { JobsNode, ManifestNode, VersionNode } from '../tree/nodes';
import type { Ctx } from '../ctx';
import { pickJob } from '../run/pickJob';

function isNode(value: unknown): value is JobsNode {
  return typeof value === 'object' && value !== null && 'kind' in value;
}

export function asVersionNode(value: unknown): VersionNode | undefined {
  return isNode(value) && value.kind === 'version' ? value : undefined;
}

/** The job a tree command is about: its node's (manifest or version), else one the user picks. */
export async function jobOf(ctx: Ctx, value: unknown, title: string): Promise<string | undefined> {
  if (isNode(value) && value.kind === 'manifest') return value.fqName;
  if (isNode(value) && value.kind === 'version') return value.manifest.fqName;
  return pickJob(ctx, title);
}

export type { ManifestNode, VersionNode };
