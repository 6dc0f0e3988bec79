import type { Ctx } from '../ctx';

/** Serval: Stop Local Agent: it stays stopped until started again (or VS Code restarts). */
export const stopLocalAgent = (ctx: Ctx) => () => ctx.agents.stopLocalByUser();
