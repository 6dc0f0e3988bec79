/** The agent client: one import for the extension and the CLI. */
export * from './client';
export * from './errors';
export * from './types';
export { sriOf } from './integrity';
export { normaliseManifestNames } from './manifestNames';
