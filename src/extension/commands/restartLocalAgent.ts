import type { Ctx } from '../ctx';

/** Serval: Restart Local Agent: also how new job limits (settings) take effect. */
export const restartLocalAgent = (ctx: Ctx) => async () => {
  const local = await ctx.agents.restartLocal();
  return local.url;
};
