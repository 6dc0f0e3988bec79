import * as assert from 'assert';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkBinary } from '../../src/manifest/binary';
import { checkManifest } from '../../src/manifest/rules';
import { Problem } from '../../src/manifest/types';
import { watToWasm } from '../helpers/wat';
import { rangeOf, withLine } from './manifestTestText';

const WASI_COMMAND = `(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $exit (i32.const 0))))`;

const NO_START = `(module (memory (export "memory") 1) (func (export "main")))`;
const NO_MEMORY_EXPORT = `(module (memory 1) (func (export "_start")))`;
const IMPORTS_EXTENSION = `(module
  (import "birdfeeder" "seed" (func))
  (import "birdfeeder" "water" (func))
  (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")))`;

describe('checkBinary', () => {
  let folder: string;
  let manifestPath: string;

  beforeEach(async () => {
    folder = await fs.mkdtemp(path.join(os.tmpdir(), 'serval-manifest-'));
    manifestPath = path.join(folder, 'manifest.toml');
  });

  afterEach(async () => {
    await fs.rm(folder, { recursive: true, force: true });
  });

  /** Writes the manifest with `binary = "<binary>"` plus `extraLines`, and checks its binary. */
  async function check(binary: string, extraLines = ''): Promise<{ text: string; problems: Problem[] }> {
    const text = withLine('binary', `binary = ${JSON.stringify(binary)}`) + extraLines;
    await fs.writeFile(manifestPath, text);
    return { text, problems: await checkBinary(manifestPath, text, checkManifest(text)) };
  }

  async function writeWasm(relativePath: string, wat: string): Promise<void> {
    const file = path.join(folder, relativePath);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, await watToWasm(wat));
  }

  function codes(problems: Problem[]): string[] {
    return problems.map((p) => `${p.code}/${p.severity}`);
  }

  it('finds nothing wrong with a WASI command next to the manifest', async () => {
    await writeWasm('job.wasm', WASI_COMMAND);
    assert.deepStrictEqual((await check('job.wasm')).problems, []);
  });

  it('resolves the binary from the manifest folder, not the working directory', async () => {
    await writeWasm('build/out/job.wasm', WASI_COMMAND);
    assert.deepStrictEqual((await check('build/out/job.wasm')).problems, []);
    assert.deepStrictEqual((await check('./build/../build/out/job.wasm')).problems, []);
  });

  it('reports a missing file with its absolute path, at the binary value', async () => {
    const { text, problems } = await check('target/job.wasm');
    assert.deepStrictEqual(codes(problems), ['binary-not-found/error']);
    assert.deepStrictEqual(problems[0].range, rangeOf(text, '"target/job.wasm"'));
    assert.strictEqual(problems[0].key, 'binary');
    assert.ok(problems[0].message.includes(path.join(folder, 'target', 'job.wasm')), problems[0].message);
  });

  it('reports a folder where the file should be', async () => {
    await fs.mkdir(path.join(folder, 'job.wasm'));
    const { problems } = await check('job.wasm');
    assert.deepStrictEqual(codes(problems), ['binary-not-found/error']);
    assert.ok(problems[0].message.includes('is a folder'), problems[0].message);
  });

  it('reports a file that is not WebAssembly', async () => {
    await fs.writeFile(path.join(folder, 'job.wasm'), 'int main() { return 0; }\n');
    const { problems } = await check('job.wasm');
    assert.deepStrictEqual(codes(problems), ['binary-not-wasm/error']);
    assert.ok(problems[0].message.includes('is not a WebAssembly module'), problems[0].message);
  });

  it('warns about a module whose name does not end in .wasm', async () => {
    await writeWasm('job.bin', WASI_COMMAND);
    const { problems } = await check('job.bin');
    assert.deepStrictEqual(codes(problems), ['binary-not-wasm/warning']);
    assert.ok(problems[0].message.includes('does not end in .wasm'), problems[0].message);
  });

  it('reports a malformed module with the reason inspectWasm gives', async () => {
    const bytes = await watToWasm(WASI_COMMAND);
    await fs.writeFile(path.join(folder, 'job.wasm'), bytes.subarray(0, bytes.length - 3));
    const { problems } = await check('job.wasm');
    assert.deepStrictEqual(codes(problems), ['binary-invalid-module/error']);
    assert.ok(problems[0].message.includes('is not a valid WebAssembly module'), problems[0].message);
  });

  it('reports a module without _start and one without exported memory', async () => {
    await writeWasm('lib.wasm', NO_START);
    await writeWasm('nomem.wasm', NO_MEMORY_EXPORT);
    const noStart = (await check('lib.wasm')).problems;
    assert.deepStrictEqual(codes(noStart), ['binary-not-wasi-command/error']);
    assert.ok(noStart[0].message.includes('"_start"'), noStart[0].message);
    const noMemory = (await check('nomem.wasm')).problems;
    assert.deepStrictEqual(codes(noMemory), ['binary-not-wasi-command/error']);
    assert.ok(noMemory[0].message.includes('"memory"'), noMemory[0].message);
  });

  it('reports imports from extensions that required_extensions does not list', async () => {
    await writeWasm('job.wasm', IMPORTS_EXTENSION);
    const { text, problems } = await check('job.wasm');
    assert.deepStrictEqual(codes(problems), ['undeclared-extension/error']);
    assert.deepStrictEqual(problems[0].range, rangeOf(text, '"job.wasm"'));
    assert.ok(problems[0].message.includes(`'birdfeeder' (seed, water)`), problems[0].message);
    assert.ok(problems[0].message.includes('add "birdfeeder" to required_extensions'), problems[0].message);

    const declared = await check('job.wasm', 'required_extensions = ["birdfeeder"]\n');
    assert.deepStrictEqual(declared.problems, []);
  });

  it('still checks the binary when another key has an error', async () => {
    const text = withLine('name', 'name = "Bad Name"').replace('loudify.wasm', 'missing.wasm');
    await fs.writeFile(manifestPath, text);
    const problems = await checkBinary(manifestPath, text, checkManifest(text));
    assert.deepStrictEqual(codes(problems), ['binary-not-found/error']);
  });

  it('stays quiet when the binary cannot be known from the text', async () => {
    for (const text of ['binary = ', withLine('binary', 'binary = 3'), withLine('binary', undefined), withLine('binary', 'binary = ""')]) {
      assert.deepStrictEqual(await checkBinary(manifestPath, text, checkManifest(text)), [], JSON.stringify(text));
    }
  });
});
