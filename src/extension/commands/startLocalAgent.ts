import type { Ctx } from '../ctx';

/** Serval: Start Local Agent. */
export const startLocalAgent = (ctx: Ctx) => async () => {
  const local = await ctx.agents.startLocal();
  ctx.catalog.invalidate();
  return local.url;
};
