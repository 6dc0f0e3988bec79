/** The editor's and the CLI's view of a component binary: diagnostics (checkBinary) and the hover. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkBinary, checkManifest } from '../../src/manifest';
import { binaryFactsOf, binaryMarkdown } from '../../src/manifest/hover';
import { componentFixture, loudify, SAMPLES } from '../helpers/components';
import { manifestText } from '../helpers/agent';

async function binaryProblems(manifestPath: string): Promise<string[]> {
  const text = await fs.readFile(manifestPath, 'utf8');
  return (await checkBinary(manifestPath, text, checkManifest(text))).map((problem) => `${problem.severity}: ${problem.message}`);
}

describe('manifest binary: components', () => {
  it('finds no problem in a wasi:cli/command component (the sample)', async () => {
    assert.deepEqual(await binaryProblems(path.join(SAMPLES, 'loudify-component', 'manifest.toml')), []);
  });

  it('reports, on binary, a component the agent would refuse: what it imports that is not hosted, no wasi:cli/run', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'serval-component-manifest-'));
    try {
      await fs.writeFile(path.join(dir, 'sockets.wasm'), await componentFixture('sockets'));
      await fs.writeFile(path.join(dir, 'manifest.toml'), manifestText('sockets', '1.0.0'));
      const [problem, ...rest] = await binaryProblems(path.join(dir, 'manifest.toml'));
      assert.deepEqual(rest, []);
      assert.match(problem!, /^error: The component: It imports wasi:sockets\/tcp@0\.2\.0, wasi:http\/outgoing-handler@0\.2\.0, which the agent does not host/);
      await fs.writeFile(path.join(dir, 'sockets.wasm'), await componentFixture('library'));
      assert.match((await binaryProblems(path.join(dir, 'manifest.toml'))).join(), /does not export wasi:cli\/run/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("hovers a component with its kind and its world's imports and exports", async () => {
    const facts = binaryFactsOf('/jobs/loudify.component.wasm', await loudify('component'));
    assert.equal(facts.kind, 'component');
    const markdown = binaryMarkdown(facts);
    assert.match(markdown, /A WebAssembly component \(WASI 0\.2\)/);
    assert.match(markdown, /World imports: .*`wasi:cli\/stdout@0\.2\.12`/);
    assert.match(markdown, /World exports: `wasi:cli\/run@0\.2\.12`/);
  });

  it('hovers a core module as before, saying it is one', async () => {
    const markdown = binaryMarkdown(binaryFactsOf('/jobs/loudify.wasm', await loudify('module')));
    assert.match(markdown, /A WebAssembly core module \(WASI preview1\)/);
    assert.match(markdown, /Exports: .*`_start`/);
    assert.match(markdown, /Imports: `wasi_snapshot_preview1`: /);
  });
});
