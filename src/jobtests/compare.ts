/** Comparing what a case expects with what the job did: exact bytes, trailing newline optionally forgiven. */
import type { CaseOutcome, LoadedCase, TestsConfig, Verdict } from './types';

const LF = 0x0a;
const CR = 0x0d;

/** The bytes without one final line break (LF or CRLF). */
export function withoutTrailingNewline(bytes: Uint8Array): Uint8Array {
  if (bytes.length === 0 || bytes[bytes.length - 1] !== LF) return bytes;
  const cut = bytes.length >= 2 && bytes[bytes.length - 2] === CR ? 2 : 1;
  return bytes.subarray(0, bytes.length - cut);
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/** Whether `actual` matches `expected` under the folder's options. */
export function outputMatches(expected: Uint8Array, actual: Uint8Array, config: TestsConfig): boolean {
  if (sameBytes(expected, actual)) return true;
  return config.ignoreTrailingNewline && sameBytes(withoutTrailingNewline(expected), withoutTrailingNewline(actual));
}

/** The verdict of one case: every difference at once, so one run tells the whole story. */
export function judge(expected: LoadedCase, outcome: CaseOutcome, config: TestsConfig, caseName: string): Verdict {
  const verdict: Verdict = { passed: false, problems: [], mismatches: [], durationMs: outcome.durationMs, outcome };
  if (outcome.kind === 'not-run') {
    verdict.problems.push(outcome.message);
    return verdict;
  }
  if (outcome.kind === 'trapped') verdict.problems.push(`the job trapped: ${outcome.trap}`);
  if (outcome.kind === 'timed-out') verdict.problems.push(`the job ran past the time limit of ${outcome.limitMs} ms`);
  if (outcome.kind === 'exited') {
    if (outcome.outputLimited) verdict.problems.push("the job's output was cut at the output limit");
    if (outcome.exitCode !== expected.exitCode) {
      verdict.mismatches.push({
        stream: 'exit code',
        file: `${caseName}.exit`,
        expected: expected.exitCode,
        actual: outcome.exitCode,
        message: `exit code ${outcome.exitCode}, expected ${expected.exitCode}`,
      });
    }
  }
  compareStream(verdict, 'stdout', `${caseName}.out`, expected.stdout, outcome.stdout, config);
  compareStream(verdict, 'stderr', `${caseName}.err`, expected.stderr, outcome.stderr, config);
  verdict.passed = verdict.problems.length === 0 && verdict.mismatches.length === 0;
  return verdict;
}

function compareStream(
  verdict: Verdict,
  stream: 'stdout' | 'stderr',
  file: string,
  expected: Uint8Array | undefined,
  actual: Uint8Array | undefined,
  config: TestsConfig,
): void {
  if (expected === undefined) return;
  if (actual === undefined) {
    verdict.problems.push(
      `${file} cannot be checked: the agent answers with the job's stdout only when it exits with 0, and with its stderr otherwise (use the local runner)`,
    );
    return;
  }
  if (outputMatches(expected, actual, config)) return;
  verdict.mismatches.push({ stream, file, expected, actual, message: `${stream} differs from ${file}: ${describeDifference(expected, actual, config)}` });
}

/** Where and how two byte strings differ, in words. */
export function describeDifference(expected: Uint8Array, actual: Uint8Array, config: TestsConfig): string {
  const hint = config.ignoreTrailingNewline ? '' : ' (to tolerate it, put ignore_trailing_newline = true in tests/tests.toml)';
  if (sameBytes(withoutTrailingNewline(expected), withoutTrailingNewline(actual))) {
    return expected.length > actual.length
      ? `the output lacks the final line break the expected file has${hint}`
      : `the output ends with a line break the expected file lacks${hint}`;
  }
  if (sameBytes(normaliseLineEndings(expected), normaliseLineEndings(actual))) {
    return `only line endings differ: expected ${lineEndingsOf(expected)}, got ${lineEndingsOf(actual)} (check git's line-ending conversion of tests/)`;
  }
  const at = firstDifference(expected, actual);
  const { line, column } = positionOf(expected, at);
  const size = expected.length === actual.length ? '' : `; expected ${expected.length} bytes, got ${actual.length}`;
  return `first difference at byte ${at} (line ${line}, column ${column})${size}`;
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const shorter = Math.min(a.length, b.length);
  for (let index = 0; index < shorter; index++) if (a[index] !== b[index]) return index;
  return shorter;
}

function positionOf(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let index = 0; index < offset && index < bytes.length; index++) {
    if (bytes[index] === LF) {
      line++;
      lineStart = index + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function normaliseLineEndings(bytes: Uint8Array): Uint8Array {
  return Buffer.from(Buffer.from(bytes).toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
}

function lineEndingsOf(bytes: Uint8Array): string {
  const text = Buffer.from(bytes).toString('latin1');
  const crlf = (text.match(/\r\n/g) ?? []).length;
  const lf = (text.match(/\n/g) ?? []).length - crlf;
  if (crlf > 0 && lf > 0) return 'mixed CRLF and LF';
  return crlf > 0 ? 'CRLF' : lf > 0 ? 'LF' : 'none';
}

/**
 * Bytes as a person can read them in a diff: UTF-8 text as it is, with a CR shown as ␍ where it
 * ends a line (a diff view would hide it); anything else as a hex dump, 16 bytes a line.
 */
export function displayBytes(bytes: Uint8Array): string {
  const text = asText(bytes);
  if (text !== undefined) return text.replace(/\r\n/g, '␍\n');
  return hexDump(bytes);
}

/** Expected and actual shown alike: both as text when both are, else both as hex dumps (a diff of text against hex says nothing). */
export function displayPair(expected: Uint8Array, actual: Uint8Array): { expected: string; actual: string } {
  if (asText(expected) !== undefined && asText(actual) !== undefined) return { expected: displayBytes(expected), actual: displayBytes(actual) };
  return { expected: hexDump(expected), actual: hexDump(actual) };
}

/** Whether the bytes read as text: valid UTF-8 without control characters other than tab, CR, LF. */
export function asText(bytes: Uint8Array): string | undefined {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text) ? undefined : text;
}

export function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += 16) {
    const row = bytes.subarray(offset, offset + 16);
    const hex = [...row].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
    const ascii = [...row].map((byte) => (byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.')).join('');
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  |${ascii}|`);
  }
  return lines.join('\n') + (lines.length > 0 ? '\n' : '');
}
