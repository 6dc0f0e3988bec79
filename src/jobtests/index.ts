/** Job tests, the pure core shared by `serval test` and the Test Explorer (see ./types for the convention). */
export * from './types';
export { caseFileOf, casesOf, discoverJobTests, findManifests, loadCase, MANIFEST_FILE, TESTS_DIR, CaseFileError } from './discover';
export { asText, describeDifference, displayPair, hexDump, judge, outputMatches } from './compare';
export { AgentCaseRunner, LocalCaseRunner, outcomeOfRun, type BuildSession, type CaseRunner, type JobBuild } from './runners';
export { JobNotRunnable, readJobFiles, runJobTests, type CaseResult, type RunJobOptions } from './run';
export { updateExpectations } from './update';
