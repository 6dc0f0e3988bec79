import type { Ctx } from '../ctx';
import { publishJob } from '../publish/publishJob';

/** Serval: Publish Job. Argument: the manifest's Uri (explorer menu, tests); else it is found. */
export const publish = (ctx: Ctx) => (manifestUri?: unknown) => publishJob(ctx, manifestUri);
