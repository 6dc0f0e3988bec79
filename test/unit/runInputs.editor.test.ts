/** The pure parts of the editor's run inputs and of the manifest's files and extensions checks. */
import * as assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

import { checkExtensionsAvailable, checkFiles, checkManifest, extensionMarkdown, extensionUnderCursor } from '../../src/manifest';
import { envProblem, joinWords, RememberedRunInputs, splitWords } from '../../src/extension/run/runArguments';
import { readFilesFolder } from '../../src/files/folder';
import { readTar, writeTar } from '../../src/files/tar';

const MANIFEST = 'name = "job"\nnamespace = "test.serval"\nversion = "1.0.0"\nbinary = "job.wasm"\ndescription = "d"\n';

describe('Run Job with Arguments: words and memory', () => {
  it('splits a line as a shell does: spaces, quotes, backslashes', () => {
    assert.deepEqual(splitWords(`a  'b c' "d \\"e\\"" f\\ g ''`), ['a', 'b c', 'd "e"', 'f g', '']);
    assert.deepEqual(splitWords('   '), []);
    assert.throws(() => splitWords('"open'), /quote is not closed/);
  });

  it('joins words back into a line that splits into the same words', () => {
    const words = ['plain', 'with space', "it's", '', 'back\\slash', 'a"b'];
    assert.deepEqual(splitWords(joinWords(words)), words);
  });

  it('checks environment entries', () => {
    assert.equal(envProblem(['A=1', 'B=']), undefined);
    assert.match(envProblem(['A=1', 'NOPE']) ?? '', /"NOPE" is not KEY=VALUE/);
    assert.match(envProblem(['=x']) ?? '', /not KEY=VALUE/);
  });

  it('remembers the inputs per job', async () => {
    const store = new Map<string, unknown>();
    const memento = { get: <T>(key: string, d: T) => (store.get(key) as T) ?? d, update: async (key: string, value: unknown) => void store.set(key, value) };
    const remembered = new RememberedRunInputs(memento);
    await remembered.remember('a.b', { args: ['x'], env: ['K=V'] });
    await remembered.remember('c.d', { args: [], env: [] });
    assert.deepEqual(remembered.get('a.b'), { args: ['x'], env: ['K=V'] });
    assert.equal(remembered.get('e.f'), undefined);
  });
});

describe('manifest files folder and extensions checks', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'serval-files-check-'));
    await mkdir(path.join(dir, 'data', 'sub'), { recursive: true });
    await writeFile(path.join(dir, 'data', 'a.txt'), 'alpha');
    await writeFile(path.join(dir, 'data', 'sub', 'b.txt'), 'beta');
    await writeFile(path.join(dir, 'plain.txt'), 'not a folder');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const problemsOf = async (files: string) => {
    const text = `${MANIFEST}files = "${files}"\n`;
    return checkFiles(path.join(dir, 'manifest.toml'), text, checkManifest(text));
  };

  it('accepts a folder, and names a missing one, a file, at the files value', async () => {
    assert.deepEqual(await problemsOf('data'), []);
    const missing = await problemsOf('nowhere');
    assert.deepEqual(missing.map((p) => [p.code, p.severity, p.range.line]), [['files-not-found', 'error', 5]]);
    assert.match(missing[0]!.message, /files "nowhere" does not exist/);
    assert.deepEqual((await problemsOf('plain.txt')).map((p) => p.code), ['files-not-folder']);
  });

  it('packs a folder into a tar that reads back the same tree', async () => {
    const { entries } = await readFilesFolder(path.join(dir, 'data'));
    const back = readTar(writeTar(entries)).map((e) => [e.kind, e.path, e.kind === 'file' ? Buffer.from(e.data).toString() : '']);
    assert.deepEqual(back, [['file', 'a.txt', 'alpha'], ['dir', 'sub', ''], ['file', 'sub/b.txt', 'beta']]);
  });

  it('refuses a folder over the size limit', async () => {
    await assert.rejects(readFilesFolder(path.join(dir, 'data'), { maxEntries: 10, maxBytes: 6 }), /holds more than/);
  });

  it('warns about a required extension the agent lacks, on that entry, and hovers what one exports', () => {
    const text = `${MANIFEST}required_extensions = ["birdfeeder", "missing"]\n`;
    const available = [{ name: 'birdfeeder', integrity: 'sha256-x', size: 10, exports: ['feed'] }];
    const problems = checkExtensionsAvailable(text, checkManifest(text), available, 'Local agent');
    assert.deepEqual(problems.map((p) => [p.code, p.severity, p.range]), [['extension-not-available', 'warning', { line: 5, column: 37, length: 9 }]]);
    assert.match(problems[0]!.message, /Local agent has no extension "missing" \(it has birdfeeder\)/);
    const under = extensionUnderCursor(text, 5, 25);
    assert.equal(under?.name, 'birdfeeder');
    assert.match(extensionMarkdown('birdfeeder', available[0], 'Local agent'), /exports `feed`/);
    assert.match(extensionMarkdown('missing', undefined, 'Local agent'), /does not have it/);
  });
});
