/**
 * A staged upload checked from its file by the real check worker: the payloads of its custom
 * sections are not read, yet every verdict is WebAssembly.validate's on the whole file.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

import { UploadChecks } from '../../src/agent/checks/uploadChecks';
import { paddedModule } from '../helpers/ext4';
import { customSection } from '../helpers/wasmBytes';
import { buildWat } from '../helpers/wat';

describe('upload checks from a staged file (check worker)', function () {
  this.timeout(30_000);
  let dir: string;
  let checks: UploadChecks;
  let hello: Uint8Array;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'serval-checks-'));
    checks = new UploadChecks(() => undefined);
    hello = await buildWat('hello');
  });
  after(async () => {
    await checks.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function verdictOf(bytes: Uint8Array): Promise<{ ok: boolean; message?: string }> {
    const file = path.join(dir, `upload-${Math.random().toString(36).slice(2)}`);
    await fs.writeFile(file, bytes);
    return checks.wasmFile(file);
  }

  const cases: Array<[string, () => Buffer]> = [
    ['a module with 16 MiB of custom sections', () => paddedModule(hello, 16 * 1024 * 1024, 1)],
    ['custom sections before, between and after the others', () => Buffer.concat([Buffer.from(hello.subarray(0, 8)), customSection(Buffer.from('a'), Buffer.alloc(10)), Buffer.from(hello.subarray(8)), customSection(Buffer.from('z'), Buffer.alloc(10))])],
    ['a custom section whose name is not UTF-8', () => Buffer.concat([Buffer.from(hello), customSection(Buffer.from([0xff, 0xfe]), Buffer.alloc(1000))])],
    ['a broken code section after big custom sections', () => Buffer.concat([paddedModule(hello, 4 * 1024 * 1024, 2), Buffer.from([10, 3, 1, 0xff, 0xff])])],
    ['a custom section that runs past the end of the file', () => paddedModule(hello, 4 * 1024 * 1024, 3).subarray(0, 3 * 1024 * 1024)],
    ['a section size that is not a number', () => Buffer.concat([Buffer.from(hello), Buffer.from([0, 0xff, 0xff, 0xff, 0xff, 0xff])])],
    ['bytes that are not wasm', () => Buffer.from('this is a text file, not a module\n')],
    ['an empty file', () => Buffer.alloc(0)],
  ];
  for (const [what, make] of cases) {
    it(`${what}: the verdict of validating the whole file`, async () => {
      const bytes = make();
      const verdict = await verdictOf(bytes);
      assert.equal(verdict.ok, WebAssembly.validate(bytes));
      if (!verdict.ok) assert.match(verdict.message ?? '', /^the body is not a valid WebAssembly module: /);
    });
  }

  it('a staged file that is gone is refused with a message, and the worker keeps checking', async () => {
    const verdict = await checks.wasmFile(path.join(dir, 'never-written'));
    assert.equal(verdict.ok, false);
    assert.match((verdict as { message: string }).message, /could not read back the upload .*ENOENT.*store it again/);
    assert.deepEqual(await verdictOf(hello), { ok: true });
  });
});

describe('upload checks when the check worker goes away', function () {
  this.timeout(20_000);
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'serval-checks-'));
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  /** A stand-in check worker: `behaviour` runs on each request it gets. */
  async function workerThat(name: string, behaviour: string): Promise<string> {
    const file = path.join(dir, `${name}.js`);
    await fs.writeFile(file, `require('node:worker_threads').parentPort.on('message', () => { ${behaviour} });\n`);
    return file;
  }
  const manifest = Buffer.from('name = "n"\nnamespace = "t"\nversion = "1"\nbinary = "n.wasm"\ndescription = "d"\nargs = ["--fast"]\n\n[env]\nMODE = "x"\n');

  it("refuses the uploads it was checking when it dies, and still gives a stored manifest's run defaults", async () => {
    const checks = new UploadChecks(() => undefined, await workerThat('dies', 'process.exit(3)'));
    try {
      const [upload, defaults] = await Promise.all([checks.manifest(manifest), checks.runDefaults(manifest)]);
      assert.equal(upload.ok, false);
      assert.match(upload.ok ? '' : upload.message, /check thread stopped \(exit code 3\); store it again/);
      assert.deepEqual(defaults, { args: ['--fast'], env: { MODE: 'x' }, requiredExtensions: [] });
    } finally {
      await checks.close();
    }
  });

  it('settles the checks still pending when it is closed, instead of leaving the uploads waiting', async () => {
    const checks = new UploadChecks(() => undefined, await workerThat('silent', '/* never answers */'));
    const upload = checks.manifest(manifest);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await checks.close();
    const verdict = await upload;
    assert.equal(verdict.ok, false);
    assert.match(verdict.ok ? '' : verdict.message, /stopped before it checked this upload/);
  });
});
