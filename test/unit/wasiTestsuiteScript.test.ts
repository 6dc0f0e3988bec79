/**
 * scripts/wasi-testsuite.mjs, as a developer runs it: a folder in the WASI test suite's layout
 * (NAME.wasm + NAME.json) through a fresh agent, one line per test and the totals. The program is
 * our own (test/fixtures/wasi-programs/suite-case.c); only the layout is the suite's.
 */
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const REPO = path.resolve(__dirname, __dirname.includes(`${path.sep}out${path.sep}`) ? '../../..' : '../..');
const SCRIPT = path.join(REPO, 'scripts', 'wasi-testsuite.mjs');
const PROGRAM = path.join(REPO, 'test', 'fixtures', 'wasi-programs', 'suite-case.wasm');
const run = promisify(execFile);

interface Outcome {
  code: number;
  stdout: string;
}

async function runScript(...args: string[]): Promise<Outcome> {
  try {
    const { stdout } = await run(process.execPath, [SCRIPT, ...args], { cwd: REPO });
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, stdout: failed.stdout };
  }
}

describe('scripts/wasi-testsuite.mjs: a suite-layout folder through the agent', function () {
  this.timeout(120_000);
  let folder: string;

  before(async () => {
    if (!existsSync(path.join(REPO, 'dist', 'cli.js')) || !existsSync(path.join(REPO, 'dist', 'jobWorker.js'))) {
      await run(process.execPath, [path.join(REPO, 'esbuild.mjs')], { cwd: REPO });
    }
    folder = await mkdtemp(path.join(os.tmpdir(), 'serval-suite-layout-'));
    await writeFile(path.join(folder, 'manifest.json'), JSON.stringify({ name: 'our suite' }));
    // A `dirs` folder (found under its own name) and a `root` folder (found as the tree itself).
    for (const dataFolder of [path.join(folder, 'data'), path.join(folder, 'tree', 'data')]) {
      await mkdir(dataFolder, { recursive: true });
      await writeFile(path.join(dataFolder, 'hello.txt'), 'hi');
    }
    const cases: Record<string, object> = {
      'by-dirs': { args: ['first'], env: { K: 'v w' }, dirs: ['data'], stdout: 'ok\n' },
      'by-root': { args: ['first'], env: { K: 'v w' }, root: 'tree' },
      'no-files': { args: ['first'], env: { K: 'v w' }, exit_code: 4 },
      'wrong-stdout': { args: ['first'], env: { K: 'v w' }, dirs: ['data'], stdout: 'OK\n' },
    };
    for (const [name, spec] of Object.entries(cases)) {
      await copyFile(PROGRAM, path.join(folder, `${name}.wasm`));
      await writeFile(path.join(folder, `${name}.json`), JSON.stringify(spec));
    }
    await copyFile(PROGRAM, path.join(folder, 'no-spec.wasm'));
  });

  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('passes what matches its spec, names each failure and why, and totals them', async () => {
    const outcome = await runScript(folder);
    assert.deepEqual(outcome.stdout.trim().split('\n'), [
      'PASS our suite: by-dirs',
      'PASS our suite: by-root',
      'PASS our suite: no-files',
      // No spec: no arguments, so the program exits 2 where the suite expects 0.
      'FAIL our suite: no-spec: exit code 2, expected 0',
      'FAIL our suite: wrong-stdout: stdout "ok\\n", expected "OK\\n"',
      '3 passed, 2 failed',
    ]);
    assert.equal(outcome.code, 1);
  });

  it('runs only the tests whose file name contains --filter, and exits 0 when they all pass', async () => {
    const outcome = await runScript(folder, '--filter', 'by-');
    assert.deepEqual(outcome.stdout.trim().split('\n'), ['PASS our suite: by-dirs', 'PASS our suite: by-root', '2 passed, 0 failed']);
    assert.equal(outcome.code, 0);
  });
});
