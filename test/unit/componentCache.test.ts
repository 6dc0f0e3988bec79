import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ComponentCache, DiskTranspileStore } from '../../src/agent/runner/component/cache';
import { transpileComponent } from '../../src/agent/runner/component/transpile';
import { loudify } from '../helpers/components';

describe('component transpile cache', () => {
  let dir: string;
  let bytes: Uint8Array;
  const integrity = 'sha256-loudify-component';

  before(async () => {
    bytes = await loudify('component');
  });
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'serval-transpiled-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('transpiles a component once, however many ask at the same time, and keeps glue and core modules', async () => {
    const cache = new ComponentCache({ store: new DiskTranspileStore(dir) });
    const results = await Promise.all([1, 2, 3].map(() => cache.transpiled(integrity, () => bytes)));
    assert.equal(cache.transpiles, 1);
    assert.ok(results.every((result) => result === results[0]));
    assert.match(results[0]!.glue, /export function instantiate\(getCoreModule, imports/);
    assert.ok(Object.keys(results[0]!.coreModules).length >= 2);
    assert.match(cache.transpiler, /^@bytecodealliance\/jco-transpile@\d+\.\d+\.\d+$/);
  });

  it('serves a later process from disk without transpiling again', async () => {
    const first = await new ComponentCache({ store: new DiskTranspileStore(dir) }).transpiled(integrity, () => bytes);
    const later = new ComponentCache({ store: new DiskTranspileStore(dir) });
    const again = await later.transpiled(integrity, () => assert.fail('the bytes are not needed when the disk has the transpile'));
    assert.equal(later.transpiles, 0);
    assert.equal(again.glue, first.glue);
    assert.deepEqual(again.coreModules, first.coreModules);
  });

  it('transpiles again, and says so, when the disk entry is damaged', async () => {
    await new ComponentCache({ store: new DiskTranspileStore(dir) }).transpiled(integrity, () => bytes);
    const [file] = await fs.readdir(dir);
    const damaged = await fs.readFile(path.join(dir, file!));
    damaged[damaged.length - 10] ^= 0xff;
    await fs.writeFile(path.join(dir, file!), damaged);
    const problems: string[] = [];
    const later = new ComponentCache({ store: new DiskTranspileStore(dir), onStoreProblem: (message) => problems.push(message) });
    await later.transpiled(integrity, () => bytes);
    assert.equal(later.transpiles, 1);
    assert.match(problems.join(), /damaged/);
  });

  it('refuses a component jco cannot transpile with a sentence', async () => {
    const cut = new Uint8Array(bytes.subarray(0, bytes.length - 100));
    await assert.rejects(transpileComponent(cut), /jco-transpile could not turn it into JavaScript/);
  });

  it('stops a transpile that does not end, and transpiles the next upload', async () => {
    const stuck = path.join(dir, 'stuck-transpiler.js');
    await fs.writeFile(stuck, 'setInterval(() => {}, 1000);\n');
    await assert.rejects(transpileComponent(bytes, stuck, 200), /jco-transpile did not finish within 0\.2 s/);
    const transpiled = await transpileComponent(bytes);
    assert.ok(Object.keys(transpiled.coreModules).length > 0);
  });
});
