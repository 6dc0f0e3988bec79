// TEMPORARY STUB until wt/reset lands
export const RESET_EXPORT = 'serval:reset';
export function makeResettable(_bytes: Uint8Array): Uint8Array | undefined { return undefined; }
