/**
 * Job tests: golden inputs and outputs next to a manifest (the convention is in the README).
 *
 *   jobdir/manifest.toml
 *   jobdir/tests/NAME.in     stdin (optional: empty when absent)
 *   jobdir/tests/NAME.out    expected stdout          NAME.err   expected stderr
 *   jobdir/tests/NAME.exit   expected exit code (default 0)
 *   jobdir/tests/NAME.args   arguments, one per line  NAME.env   KEY=VALUE lines
 *   jobdir/tests/tests.toml  options of the folder: ignore_trailing_newline = true
 *
 * This folder is pure (no vscode): the CLI's `serval test` and the editor's Test Explorer share it.
 */

import type { RunDefaults } from '../agent/routes/runInputs';

export type { RunDefaults };

/** The extensions that make a file in tests/ part of a case, in the order they are listed. */
export const CASE_EXTENSIONS = ['in', 'out', 'err', 'exit', 'args', 'env'] as const;
export type CaseFileKind = (typeof CASE_EXTENSIONS)[number];

/** The options file of a tests/ folder. */
export const TESTS_CONFIG_FILE = 'tests.toml';

export interface TestsConfig {
  /** Compare stdout and stderr as if each ended with one line break less (LF or CRLF). */
  ignoreTrailingNewline: boolean;
}

/** One case as found on disk: the files of one stem. */
export interface TestCase {
  name: string;
  /** Absolute paths of the case's files, by kind. */
  files: Partial<Record<CaseFileKind, string>>;
}

/** A manifest and the cases of its tests/ folder. */
export interface JobTests {
  manifestPath: string;
  testsDir: string;
  /** The job's fully-qualified name, or undefined when the manifest is invalid. */
  jobName?: string;
  /** The manifest's version, when it is valid. */
  version?: string;
  /** Absolute path of the `.wasm` the manifest names, when it is valid. */
  binaryPath?: string;
  /** The manifest's default arguments and environment, which a case's .args and .env override. */
  defaults?: RunDefaults;
  /** Absolute path of the manifest's `files` folder, when it names one: the job sees it as `/`. */
  filesDir?: string;
  /** Why the job's cases cannot run (invalid manifest, bad tests.toml); undefined when they can. */
  problem?: string;
  config: TestsConfig;
  cases: TestCase[];
}

/** What a case expects and feeds the job, read from its files. */
export interface LoadedCase {
  stdin: Uint8Array;
  stdout?: Uint8Array;
  stderr?: Uint8Array;
  exitCode: number;
  args?: string[];
  env?: Record<string, string>;
}

/**
 * What one run of a case gave. stdout or stderr is undefined when the runner could not see it: an
 * agent answers with stdout when the exit code is 0 and with stderr otherwise.
 */
export type CaseOutcome =
  | { kind: 'exited'; exitCode: number; stdout?: Uint8Array; stderr?: Uint8Array; outputLimited: boolean; durationMs: number }
  | { kind: 'trapped'; trap: string; stdout?: Uint8Array; stderr?: Uint8Array; durationMs: number }
  | { kind: 'timed-out'; limitMs: number; stdout?: Uint8Array; stderr?: Uint8Array; durationMs: number }
  /** The case could not run at all: the module is not a WASI command, or the runner lacks a feature. */
  | { kind: 'not-run'; message: string; durationMs: number };

/** One difference between an expected file and what the job did. */
export interface Mismatch {
  stream: 'stdout' | 'stderr' | 'exit code';
  /** The expected file, when there is one (NAME.out, NAME.err, NAME.exit). */
  file?: string;
  expected: Uint8Array | number;
  actual: Uint8Array | number;
  /** One sentence: where they differ and how. */
  message: string;
}

export interface Verdict {
  passed: boolean;
  /** Why a case failed without a comparison (trap, time limit, bad case file, not run); empty when passed. */
  problems: string[];
  mismatches: Mismatch[];
  durationMs: number;
  outcome?: CaseOutcome;
}
