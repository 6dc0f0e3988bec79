import type { Ctx } from '../ctx';

/** Serval: Refresh (also the Retry action of the error node): re-query the agent. */
export const refresh = (ctx: Ctx) => () => {
  ctx.catalog.invalidate();
  void ctx.health.check();
};
