/** `serval test --update`: rewrite a case's expected files from what the job did. */
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { outputMatches } from './compare';
import type { CaseResult } from './run';
import type { TestsConfig } from './types';

/**
 * Writes NAME.out, NAME.err and NAME.exit where the job's output differs from them, and creates
 * them where the case had none and the output is not the default (empty output, exit code 0).
 * Only what the runner saw is written; a case that trapped, timed out or did not run is left alone.
 * Resolves to the paths written.
 */
export async function updateExpectations(result: CaseResult, testsDir: string, config: TestsConfig): Promise<string[]> {
  const outcome = result.verdict.outcome;
  const { loaded, testCase } = result;
  if (!loaded || outcome?.kind !== 'exited' || outcome.outputLimited) return [];
  const writes: { file: string; bytes: Uint8Array }[] = [];
  const plan = (kind: 'out' | 'err', expected: Uint8Array | undefined, actual: Uint8Array | undefined) => {
    if (actual === undefined) return;
    const unchanged = expected === undefined ? actual.length === 0 : outputMatches(expected, actual, config);
    if (!unchanged) writes.push({ file: testCase.files[kind] ?? path.join(testsDir, `${testCase.name}.${kind}`), bytes: actual });
  };
  plan('out', loaded.stdout, outcome.stdout);
  plan('err', loaded.stderr, outcome.stderr);
  if (outcome.exitCode !== loaded.exitCode) {
    writes.push({ file: testCase.files.exit ?? path.join(testsDir, `${testCase.name}.exit`), bytes: Buffer.from(`${outcome.exitCode}\n`) });
  }
  for (const { file, bytes } of writes) await writeFile(file, bytes);
  return writes.map(({ file }) => file);
}
