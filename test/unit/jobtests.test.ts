import * as assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { DEFAULT_JOB_LIMITS } from '../../src/agent/runner/types';
import type { CliIo } from '../../src/cli/io';
import { runCli } from '../../src/cli/main';
import {
  LocalCaseRunner,
  casesOf,
  describeDifference,
  discoverJobTests,
  displayPair,
  findManifests,
  judge,
  outcomeOfRun,
  outputMatches,
  runJobTests,
  type CaseOutcome,
  type LoadedCase,
} from '../../src/jobtests';
import { parseArgsFile, parseEnvFile, parseExitCode, parseTestsConfig } from '../../src/jobtests/discover';
import { startTestAgent, type TestAgent } from '../helpers/agent';
import { buildWat } from '../helpers/wat';

const REPO = path.resolve(__dirname, __dirname.includes(`${path.sep}out${path.sep}`) ? '../../..' : '../..');
const SAMPLES = path.join(REPO, 'samples');
const EXACT = { ignoreTrailingNewline: false };
const TOLERANT = { ignoreTrailingNewline: true };
const bytes = (text: string) => new Uint8Array(Buffer.from(text));

function exited(stdout: string | Uint8Array, exitCode = 0, stderr: string | Uint8Array = ''): CaseOutcome {
  const asBytes = (value: string | Uint8Array) => (typeof value === 'string' ? bytes(value) : value);
  return { kind: 'exited', exitCode, stdout: asBytes(stdout), stderr: asBytes(stderr), outputLimited: false, durationMs: 1 };
}

function expecting(fields: Partial<LoadedCase>): LoadedCase {
  return { stdin: new Uint8Array(), exitCode: 0, ...fields };
}

/** A copy of a sample in a temporary folder, to break or extend its cases. */
async function sampleCopy(name: string): Promise<{ dir: string; tests: string; remove: () => Promise<void> }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'serval-jobtests-'));
  const dir = path.join(root, name);
  await cp(path.join(SAMPLES, name), dir, { recursive: true });
  return { dir, tests: path.join(dir, 'tests'), remove: () => rm(root, { recursive: true, force: true }) };
}

async function serval(args: string[], cwd = REPO): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  stdin.end();
  const io: CliIo = { stdin, stdout, stderr, env: {}, cwd };
  const code = await runCli(args, io, new AbortController().signal);
  return { code, stdout: stdout.read()?.toString() ?? '', stderr: stderr.read()?.toString() ?? '' };
}

describe('job tests: discovery', () => {
  it('groups a tests/ folder into cases by stem, ignoring other files', () => {
    const cases = casesOf('/t', ['b.out', 'a.in', 'a.out', 'a.exit', 'tests.toml', 'README.md', '.hidden.out', 'c.d.err', 'x.args', 'x.env']);
    assert.deepEqual(
      cases.map((testCase) => [testCase.name, Object.keys(testCase.files).sort()]),
      [
        ['a', ['exit', 'in', 'out']],
        ['b', ['out']],
        ['c.d', ['err']],
        ['x', ['args', 'env']],
      ],
    );
    assert.equal(cases[0]!.files.in, path.join('/t', 'a.in'));
  });

  it('finds every sample manifest under a folder, and their cases', async () => {
    const manifests = await findManifests([SAMPLES]);
    assert.deepEqual(
      manifests.map((manifest) => path.relative(SAMPLES, manifest)),
      ['fail/manifest.toml', 'loudify-component/manifest.toml', 'loudify/manifest.toml', 'wordfreq/manifest.toml'].map((file) => file.split('/').join(path.sep)),
    );
    const loudify = await discoverJobTests(path.join(SAMPLES, 'loudify', 'manifest.toml'));
    assert.equal(loudify.jobName, 'sh.serval.loudify');
    assert.equal(loudify.binaryPath, path.join(SAMPLES, 'loudify', 'loudify.wasm'));
    assert.deepEqual(loudify.cases.map((testCase) => testCase.name), ['binary', 'crlf', 'empty', 'hello']);
    assert.equal(loudify.problem, undefined);
  });

  it('takes a manifest named directly, and has no cases without a tests/ folder', async () => {
    const copy = await sampleCopy('loudify');
    try {
      await rm(copy.tests, { recursive: true });
      assert.deepEqual(await findManifests([path.join(copy.dir, 'manifest.toml')]), [path.join(copy.dir, 'manifest.toml')]);
      assert.deepEqual((await discoverJobTests(path.join(copy.dir, 'manifest.toml'))).cases, []);
    } finally {
      await copy.remove();
    }
  });

  it('says what is wrong with an invalid manifest or tests.toml', async () => {
    const copy = await sampleCopy('loudify');
    try {
      await writeFile(path.join(copy.tests, 'tests.toml'), 'ignore_trailing_newlines = true\n');
      const badConfig = await discoverJobTests(path.join(copy.dir, 'manifest.toml'));
      assert.match(badConfig.problem ?? '', /tests\.toml: unknown key 'ignore_trailing_newlines'/);
      await writeFile(path.join(copy.dir, 'manifest.toml'), 'name = "loudify"\n');
      const badManifest = await discoverJobTests(path.join(copy.dir, 'manifest.toml'));
      assert.match(badManifest.problem ?? '', /the manifest is invalid/);
      assert.equal(badManifest.jobName, undefined);
    } finally {
      await copy.remove();
    }
  });

  it('parses .exit, .args, .env and tests.toml, naming the file on a mistake', () => {
    assert.equal(parseExitCode(' 2\n', 'x.exit'), 2);
    assert.throws(() => parseExitCode('two', 'x.exit'), /x\.exit must hold one whole number/);
    assert.deepEqual(parseArgsFile('--upper\r\n\nlast\n'), ['--upper', '', 'last']);
    assert.deepEqual(parseArgsFile(''), []);
    assert.deepEqual(parseEnvFile('# comment\nA=1\n\nB=x=y \r\n', 'x.env'), { A: '1', B: 'x=y ' });
    assert.throws(() => parseEnvFile('A=1\nnot a pair\n', 'x.env'), /x\.env:2: expected KEY=VALUE/);
    assert.deepEqual(parseTestsConfig('ignore_trailing_newline = true'), TOLERANT);
    assert.match(String(parseTestsConfig('ignore_trailing_newline = "yes"')), /true or false/);
    assert.match(String(parseTestsConfig('= broken')), /not valid TOML/);
  });
});

describe('job tests: comparison', () => {
  it('passes exact bytes and fails on one byte more', () => {
    assert.equal(judge(expecting({ stdout: bytes('HI\n') }), exited('HI\n'), EXACT, 'a').passed, true);
    const verdict = judge(expecting({ stdout: bytes('HI') }), exited('HI\n'), EXACT, 'a');
    assert.equal(verdict.passed, false);
    assert.equal(verdict.mismatches[0]?.stream, 'stdout');
    assert.match(verdict.mismatches[0]!.message, /stdout differs from a\.out: the output ends with a line break the expected file lacks \(to tolerate it, put ignore_trailing_newline = true in tests\/tests\.toml\)/);
  });

  it('forgives one final line break (LF or CRLF) only when opted in, and no more', () => {
    assert.equal(outputMatches(bytes('HI'), bytes('HI\n'), TOLERANT), true);
    assert.equal(outputMatches(bytes('HI\r\n'), bytes('HI'), TOLERANT), true);
    assert.equal(outputMatches(bytes('HI\n'), bytes('HI\n\n'), TOLERANT), false);
    assert.equal(outputMatches(bytes('HI'), bytes('HI\n'), EXACT), false);
    assert.equal(outputMatches(bytes('HI '), bytes('HI'), TOLERANT), false);
  });

  it('tells CRLF from LF, and shows the CRs in the diff', () => {
    const expected = bytes('A\r\nB\r\n');
    const actual = bytes('A\nB\n');
    assert.equal(outputMatches(expected, actual, TOLERANT), false);
    assert.match(describeDifference(expected, actual, EXACT), /only line endings differ: expected CRLF, got LF/);
    assert.deepEqual(displayPair(expected, actual), { expected: 'A␍\nB␍\n', actual: 'A\nB\n' });
  });

  it('compares binary output byte for byte and shows it as a hex dump on both sides', () => {
    const expected = new Uint8Array([0, 1, 2, 0xff, 0x41]);
    const actual = new Uint8Array([0, 1, 2, 0xfe, 0x41]);
    const verdict = judge(expecting({ stdout: expected }), exited(actual), EXACT, 'bin');
    assert.equal(verdict.passed, false);
    assert.match(verdict.mismatches[0]!.message, /first difference at byte 3 \(line 1, column 4\)/);
    const shown = displayPair(expected, bytes('text'));
    assert.match(shown.expected, /^00000000  00 01 02 ff 41 +\|\.\.\.\.A\|\n$/);
    assert.match(shown.actual, /^00000000  74 65 78 74 /);
    assert.equal(judge(expecting({ stdout: expected }), exited(new Uint8Array(expected)), EXACT, 'bin').passed, true);
  });

  it('checks the exit code (default 0) and stderr, and reports every difference at once', () => {
    const verdict = judge(expecting({ stdout: bytes('x'), stderr: bytes('oops\n'), exitCode: 2 }), exited('y', 3, 'oops\n'), EXACT, 'c');
    assert.deepEqual(
      verdict.mismatches.map((mismatch) => mismatch.stream),
      ['exit code', 'stdout'],
    );
    assert.equal(verdict.mismatches[0]!.message, 'exit code 3, expected 2');
    assert.equal(judge(expecting({}), exited('', 1), EXACT, 'd').passed, false);
  });

  it('fails a trap, a timeout, cut output and a case that was not run, whatever the files say', () => {
    const empty = expecting({});
    const trap: CaseOutcome = { kind: 'trapped', trap: 'unreachable', stdout: bytes(''), stderr: bytes(''), durationMs: 1 };
    assert.deepEqual(judge(empty, trap, EXACT, 'a').problems, ['the job trapped: unreachable']);
    const timeout: CaseOutcome = { kind: 'timed-out', limitMs: 100, durationMs: 100 };
    assert.deepEqual(judge(empty, timeout, EXACT, 'a').problems, ['the job ran past the time limit of 100 ms']);
    const cut: CaseOutcome = { ...exited(''), outputLimited: true } as CaseOutcome;
    assert.equal(judge(empty, cut, EXACT, 'a').passed, false);
    assert.equal(judge(empty, { kind: 'not-run', message: 'no', durationMs: 0 }, EXACT, 'a').passed, false);
  });

  it('never passes a stream the agent did not return', () => {
    // An agent answers stdout on exit 0: an expected stderr cannot be checked then.
    const outcome = outcomeOfRun({ exitCode: 0, output: bytes('OUT') }, 3);
    assert.deepEqual(outcome, { kind: 'exited', exitCode: 0, stdout: bytes('OUT'), outputLimited: false, durationMs: 3 });
    const verdict = judge(expecting({ stdout: bytes('OUT'), stderr: bytes('') }), outcome, EXACT, 'e');
    assert.equal(verdict.passed, false);
    assert.match(verdict.problems[0]!, /e\.err cannot be checked/);
    const trapped = outcomeOfRun({ exitCode: undefined, trap: 'unreachable', output: bytes('about to trap\nunreachable\n') }, 1);
    assert.deepEqual(trapped, { kind: 'trapped', trap: 'unreachable', stderr: bytes('about to trap\n'), durationMs: 1 });
  });
});

describe('job tests: running on the local runner', () => {
  let runner: LocalCaseRunner;
  before(() => {
    runner = new LocalCaseRunner({ ...DEFAULT_JOB_LIMITS, timeoutMs: 2000 }, 1);
  });
  after(() => runner.close());

  it('passes every sample case', async () => {
    for (const manifest of await findManifests([SAMPLES])) {
      const results = await runJobTests(await discoverJobTests(manifest), runner);
      assert.ok(results.length > 0, manifest);
      for (const { testCase, verdict } of results) assert.ok(verdict.passed, `${manifest} ${testCase.name}: ${JSON.stringify(verdict.problems)} ${verdict.mismatches.map((m) => m.message).join('; ')}`);
    }
  });

  it("passes a case's .args and .env over the manifest's args and [env], argv[0] being the job's name, locally and on an agent", async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'serval-jobtests-'));
    try {
      const dir = path.join(root, 'argv');
      await mkdir(path.join(dir, 'tests'), { recursive: true });
      await cp(path.join(REPO, 'test', 'fixtures', 'wasi-programs', 'files.wasm'), path.join(dir, 'files.wasm'));
      await writeFile(
        path.join(dir, 'manifest.toml'),
        'name = "argv"\nnamespace = "test"\nversion = "1.0.0"\nbinary = "files.wasm"\ndescription = "d"\n' +
          'required_extensions = []\nrequired_permissions = []\nargs = ["--no-files", "default"]\n\n[env]\nMODE = "default"\nKEEP = "yes"\n',
      );
      const tests = path.join(dir, 'tests');
      await writeFile(path.join(tests, 'defaults.out'), 'argv[0]=test.argv\nargv[1]=--no-files\nargv[2]=default\nenv MODE=default\nenv KEEP=yes\n');
      await writeFile(path.join(tests, 'given.args'), '--no-files\ntwo words\n');
      await writeFile(path.join(tests, 'given.env'), 'MODE=case\nEXTRA=a=b\n');
      await writeFile(path.join(tests, 'given.out'), 'argv[0]=test.argv\nargv[1]=--no-files\nargv[2]=two words\nenv MODE=case\nenv KEEP=yes\nenv EXTRA=a=b\n');
      const local = await serval(['test', '--local', dir]);
      assert.equal(local.code, 0, local.stdout + local.stderr);
      assert.match(local.stdout, /^PASS test\.argv\/defaults .*\nPASS test\.argv\/given .*\n2 passed, 0 failed\n$/);

      const agent = await startTestAgent();
      try {
        const remote = await serval(['test', '--agent', agent.url, dir]);
        assert.equal(remote.code, 0, remote.stdout + remote.stderr);
        assert.match(remote.stdout, /^PASS test\.argv\/defaults .*\nPASS test\.argv\/given .*\n2 passed, 0 failed\n$/);
      } finally {
        await agent.stop();
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("gives the job its manifest's files folder as / for every case, locally and on an agent, each run starting from the folder as it is", async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'serval-jobtests-'));
    try {
      const dir = path.join(root, 'files');
      await mkdir(path.join(dir, 'tests'), { recursive: true });
      await mkdir(path.join(dir, 'data', 'sub'), { recursive: true });
      await writeFile(path.join(dir, 'data', 'hello.txt'), 'hello from the files folder');
      await writeFile(path.join(dir, 'data', 'sub', 'nested.txt'), 'nested');
      await cp(path.join(REPO, 'test', 'fixtures', 'wasi-programs', 'files.wasm'), path.join(dir, 'files.wasm'));
      await writeFile(
        path.join(dir, 'manifest.toml'),
        'name = "files"\nnamespace = "test"\nversion = "1.0.0"\nbinary = "files.wasm"\ndescription = "d"\n' +
          'required_extensions = []\nrequired_permissions = []\nfiles = "data"\n',
      );
      // Two cases with the same expectation: the second run must not see what the first wrote.
      await writeFile(path.join(dir, 'tests', 'first.in'), '');
      await writeFile(path.join(dir, 'tests', 'second.in'), '');
      const update = await serval(['test', '--local', '--update', dir]);
      assert.equal(update.code, 0, update.stdout + update.stderr);
      const expected = await readFile(path.join(dir, 'tests', 'first.out'), 'utf8');
      assert.match(expected, /^list \/: hello\.txt sub$/m);
      assert.match(expected, /^read hello\.txt: hello from the files folder$/m);
      assert.match(expected, /^read \/sub\/nested\.txt: nested$/m);
      assert.match(expected, /^create new\.txt: ok$/m);
      assert.equal(await readFile(path.join(dir, 'tests', 'second.out'), 'utf8'), expected);

      const local = await serval(['test', '--local', dir]);
      assert.equal(local.code, 0, local.stdout + local.stderr);
      assert.match(local.stdout, /\n2 passed, 0 failed\n$/);
      const agent = await startTestAgent();
      try {
        const remote = await serval(['test', '--agent', agent.url, dir]);
        assert.equal(remote.code, 0, remote.stdout + remote.stderr);
        assert.match(remote.stdout, /\n2 passed, 0 failed\n$/);
      } finally {
        await agent.stop();
      }
      assert.deepEqual((await readdir(path.join(dir, 'data'))).sort(), ['hello.txt', 'sub'], 'the job never writes to the folder on disk');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('fails a trapping job and a job past its time limit', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'serval-jobtests-'));
    try {
      for (const name of ['trap', 'spin']) {
        await mkdir(path.join(root, name, 'tests'), { recursive: true });
        await writeFile(path.join(root, name, `${name}.wasm`), await buildWat(name));
        await writeFile(
          path.join(root, name, 'manifest.toml'),
          `name = "${name}"\nnamespace = "test"\nversion = "1.0.0"\nbinary = "${name}.wasm"\ndescription = "d"\nrequired_extensions = []\nrequired_permissions = []\n`,
        );
        await writeFile(path.join(root, name, 'tests', 'case.out'), '');
      }
      const short = new LocalCaseRunner({ ...DEFAULT_JOB_LIMITS, timeoutMs: 300 }, 1);
      try {
        const [trap] = await runJobTests(await discoverJobTests(path.join(root, 'trap', 'manifest.toml')), short);
        assert.match(trap!.verdict.problems[0]!, /the job trapped: unreachable/);
        const [spin] = await runJobTests(await discoverJobTests(path.join(root, 'spin', 'manifest.toml')), short);
        assert.deepEqual(spin!.verdict.problems, ['the job ran past the time limit of 300 ms']);
      } finally {
        await short.close();
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('serval test', () => {
  it('passes the samples with --local: one line per case, the closing line, exit code 0', async () => {
    const { code, stdout, stderr } = await serval(['test', '--local', 'samples']);
    assert.equal(code, 0, stderr);
    const lines = stdout.trimEnd().split('\n');
    assert.equal(lines.at(-1), '11 passed, 0 failed');
    assert.equal(lines.length, 12);
    assert.ok(lines.slice(0, -1).every((line) => /^PASS sh\.serval\.\w+\/[\w-]+ \(\d+ ms\)$/.test(line)), stdout);
    assert.ok(lines.includes(lines.find((line) => line.startsWith('PASS sh.serval.loudify/crlf '))!));
  });

  it('fails a broken expectation with exit code 1, showing expected and actual on stderr', async () => {
    const copy = await sampleCopy('loudify');
    try {
      await writeFile(path.join(copy.tests, 'hello.out'), 'HELLO WORLD\n');
      const { code, stdout, stderr } = await serval(['test', '--local', copy.dir]);
      assert.equal(code, 1);
      assert.match(stdout, /^FAIL sh\.serval\.loudify\/hello \(\d+ ms\): stdout differs from hello\.out: first difference at byte 5/m);
      assert.match(stdout, /^PASS sh\.serval\.loudify\/crlf /m);
      assert.match(stdout, /\n3 passed, 1 failed\n$/);
      assert.match(stderr, /- HELLO WORLD\n.*\n\s+\+ HELLO, WORLD\n/);
    } finally {
      await copy.remove();
    }
  });

  it('--update rewrites what differs and creates what is missing, prints it, and then the cases pass', async () => {
    const copy = await sampleCopy('loudify');
    try {
      await writeFile(path.join(copy.tests, 'hello.out'), 'stale\n');
      await writeFile(path.join(copy.tests, 'new.in'), 'new case\n');
      const updated = await serval(['test', '--local', '--update', copy.dir]);
      assert.equal(updated.code, 0, updated.stderr);
      assert.match(updated.stdout, /^UPDATED sh\.serval\.loudify\/hello \(\d+ ms\): wrote .*hello\.out$/m);
      assert.match(updated.stdout, /^UPDATED sh\.serval\.loudify\/new \(\d+ ms\): wrote .*new\.out$/m);
      assert.match(updated.stdout, /^PASS sh\.serval\.loudify\/crlf /m);
      assert.equal(await readFile(path.join(copy.tests, 'hello.out'), 'utf8'), 'HELLO, WORLD\n');
      assert.equal(await readFile(path.join(copy.tests, 'new.out'), 'utf8'), 'NEW CASE\n');
      const again = await serval(['test', '--local', copy.dir]);
      assert.equal(again.code, 0);
      assert.match(again.stdout, /5 passed, 0 failed\n$/);
    } finally {
      await copy.remove();
    }
  });

  it('--update writes the exit code and stderr of a failing job', async () => {
    const copy = await sampleCopy('fail');
    try {
      await rm(path.join(copy.tests, 'refuses.err'));
      await rm(path.join(copy.tests, 'refuses.exit'));
      assert.equal((await serval(['test', '--local', copy.dir])).code, 1);
      const { code, stdout } = await serval(['test', '--local', '--update', copy.dir]);
      assert.equal(code, 0);
      assert.match(stdout, /wrote .*refuses\.err, .*refuses\.exit/);
      assert.equal(await readFile(path.join(copy.tests, 'refuses.exit'), 'utf8'), '2\n');
      assert.match(await readFile(path.join(copy.tests, 'refuses.err'), 'utf8'), /^fail: refusing 17 bytes/);
    } finally {
      await copy.remove();
    }
  });

  it('uses the usual exit codes: 2 usage, 3 no agent, 4 nothing to test, 5 invalid manifest or missing build', async () => {
    assert.equal((await serval(['test', '--local', '--agent', 'http://127.0.0.1:1'])).code, 2);
    assert.equal((await serval(['test', '--job-timeout-ms', '100', 'samples'])).code, 2);
    const unreachable = await serval(['test', '--agent', 'http://127.0.0.1:1', 'samples/loudify']);
    assert.equal(unreachable.code, 3);
    assert.match(unreachable.stderr, /no agent answers at http:\/\/127\.0\.0\.1:1/);
    assert.equal((await serval(['test', '--local', 'no/such/folder'])).code, 4);
    const copy = await sampleCopy('loudify');
    try {
      await rm(copy.tests, { recursive: true });
      const none = await serval(['test', '--local', copy.dir]);
      assert.equal(none.code, 4);
      assert.match(none.stderr, /no test cases next to/);
      await mkdir(copy.tests);
      await writeFile(path.join(copy.tests, 'a.out'), 'A');
      await rm(path.join(copy.dir, 'loudify.wasm'));
      const missing = await serval(['test', '--local', copy.dir]);
      assert.equal(missing.code, 5);
      assert.match(missing.stdout, /^FAIL sh\.serval\.loudify\/a: not run\n0 passed, 1 failed\n$/);
      assert.match(missing.stderr, /its binary "loudify\.wasm" does not exist: build it first/);
    } finally {
      await copy.remove();
    }
  });

  describe('against an agent', () => {
    let agent: TestAgent;
    before(async () => {
      agent = await startTestAgent();
    });
    after(() => agent.stop());

    it('runs the build as a scratch version and leaves the agent as it found it', async () => {
      const { code, stdout, stderr } = await serval(['test', '--agent', agent.url, 'samples']);
      assert.equal(code, 0, stderr);
      assert.match(stdout, /^11 passed, 0 failed$/m);
      const listed = await serval(['list', '--agent', agent.url]);
      assert.doesNotMatch(listed.stdout, /sh\.serval/);
    });

    it('deletes only its scratch version of a job the agent already stores', async () => {
      assert.equal((await serval(['store', '--agent', agent.url, 'samples/loudify/manifest.toml'])).code, 0);
      const copy = await sampleCopy('loudify');
      try {
        await writeFile(path.join(copy.tests, 'hello.out'), 'nope');
        const { code, stdout } = await serval(['test', '--agent', agent.url, copy.dir]);
        assert.equal(code, 1);
        assert.match(stdout, /^FAIL sh\.serval\.loudify\/hello /m);
      } finally {
        await copy.remove();
      }
      const versions = await serval(['versions', '--agent', agent.url, 'sh.serval.loudify']);
      assert.match(versions.stdout, /1\.0\.0/);
      assert.doesNotMatch(versions.stdout, /serval-test/);
    });
  });
});
