import type { Ctx } from '../ctx';

/** Serval: Show Agent Log: the "Serval" output channel, where the local agent's log goes too. */
export const showAgentLog = (ctx: Ctx) => () => ctx.log.show();
