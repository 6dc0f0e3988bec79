/**
 * A component job's files, through the agent's HTTP API: the version's tree as its directory `/`
 * (wasi:filesystem), by the rules preview1 modules have. The job is one C program
 * (test/fixtures/components/tree.c) built as a preview1 module and adapted to a component, so
 * both kinds are asked the same things and must answer the same.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

import { imageOf } from '../../src/agent/files/filesImages';
import { JobRunner } from '../../src/agent/runner/pool';
import { writeTar, type TarEntry } from '../../src/files/tar';
import { manifestText, request, startTestAgent, type TestAgent } from '../helpers/agent';
import { COMPONENT_FIXTURES } from '../helpers/components';
import { jobOf, text } from '../helpers/runnerJobs';

const JOB = 'test.serval.tree';
const OTHER_JOB = 'test.serval.other_tree';
const MEMORY_BYTES = 32 * 1024 * 1024;
const enc = new TextEncoder();

const TREE: TarEntry[] = [
  { kind: 'file', path: 'hello.txt', data: enc.encode('hello tree'), mtimeMs: 0 },
  { kind: 'dir', path: 'docs', mtimeMs: 0 },
  { kind: 'file', path: 'docs/readme.md', data: enc.encode('# read me'), mtimeMs: 0 },
  { kind: 'symlink', path: 'link-to-hello', target: 'docs/../hello.txt', mtimeMs: 0 },
];

/** The versions of the job: the same program as each kind, with files, with other files, without. */
const MODULE = '1.0.0';
const COMPONENT = '2.0.0';
const COMPONENT_OTHER_FILES = '2.1.0';
const COMPONENT_NO_FILES = '2.2.0';

const fixture = (file: string): Promise<Buffer> => fs.readFile(path.join(COMPONENT_FIXTURES, file));

describe('agent HTTP: a component job gets its own files (wasi:filesystem)', function () {
  let agent: TestAgent;

  async function publish(name: string, version: string, wasm: Uint8Array, files?: TarEntry[]): Promise<void> {
    const manifest = await request(agent.url, 'POST', '/v1/storage/manifests', { body: manifestText(name.split('.').pop()!, version) });
    assert.equal(manifest.status, 201, manifest.text);
    if (files) {
      const put = await request(agent.url, 'PUT', `/v1/storage/manifests/${name}/files/${version}`, {
        body: writeTar(files),
        headers: { 'content-type': 'application/x-tar' },
      });
      assert.equal(put.status, 201, put.text);
    }
    const executable = await request(agent.url, 'PUT', `/v1/storage/manifests/${name}/executable/${version}`, { body: wasm });
    assert.equal(executable.status, 201, executable.text);
  }

  /** Runs the job with these tree.c commands as its arguments (none: its tour). */
  async function run(version: string, commands: string[] = [], name = JOB): Promise<string> {
    const query = commands.map((c) => `&arg=${encodeURIComponent(c)}`).join('');
    const answer = await request(agent.url, 'POST', `/v1/jobs/${name}/run?version=${version}${query}`);
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.headers['serval-exit-code'], '0', answer.text);
    return answer.text;
  }

  before(async () => {
    agent = await startTestAgent({ limits: { timeoutMs: 10_000, memoryBytes: MEMORY_BYTES, outputBytes: 1024 * 1024 } });
    const [module, component] = [await fixture('tree.wasm'), await fixture('tree.component.wasm')];
    await publish(JOB, MODULE, module, TREE);
    await publish(JOB, COMPONENT, component, TREE);
    await publish(JOB, COMPONENT_OTHER_FILES, component, [{ kind: 'file', path: 'other.txt', data: enc.encode('another version'), mtimeMs: 0 }]);
    await publish(JOB, COMPONENT_NO_FILES, component);
    await publish(OTHER_JOB, '1.0.0', component, [{ kind: 'file', path: 'secret.txt', data: enc.encode('not yours'), mtimeMs: 0 }]);
  });
  after(async () => {
    await agent.stop();
  });

  it('prints the same transcript as a module and as a component for the same files', async () => {
    const [asModule, asComponent] = [await run(MODULE), await run(COMPONENT)];
    assert.equal(asComponent, asModule);
  });

  it('sees only its own tree: nothing of the host, of other jobs or versions; its writes never reach the disk or the next run', async () => {
    const written = 'written by a component job';
    const first = await run(COMPONENT, ['write', 'mine.txt', written, 'cat', 'mine.txt', 'ls', '/', 'ls', '/tmp', 'cat', '/etc/hostname', 'escape', '/proc/self/environ', 'escape', '../../../etc/passwd', 'cat', 'secret.txt', 'cat', 'other.txt']);
    assert.equal(
      first,
      [
        'write mine.txt: ok',
        `cat mine.txt (${written.length} bytes): ${written}`,
        'ls /: docs/ hello.txt link-to-hello@ mine.txt',
        'ls /tmp: No such file or directory',
        'cat /etc/hostname: No such file or directory',
        'escape /proc/self/environ: refused',
        'escape ../../../etc/passwd: refused',
        'cat secret.txt: No such file or directory',
        'cat other.txt: No such file or directory',
        '',
      ].join('\n'),
    );
    assert.equal(await run(COMPONENT, ['cat', 'mine.txt', 'cat', 'hello.txt']), 'cat mine.txt: No such file or directory\ncat hello.txt (10 bytes): hello tree\n');
    assert.equal(await run(COMPONENT_OTHER_FILES, ['ls', '/', 'cat', 'hello.txt']), 'ls /: other.txt\ncat hello.txt: No such file or directory\n');
    assert.equal(await run('1.0.0', ['ls', '/'], OTHER_JOB), 'ls /: secret.txt\n');
    assert.deepEqual(await filesContaining(agent.storageDir, written), [], 'nothing the job wrote is in the store');
    await assert.rejects(fs.access(path.join(process.cwd(), 'mine.txt')), 'nor in the agent\'s folder');
  });

  it('fails a write past the memory limit inside the job (ENOSPC); the agent and the next run are fine', async () => {
    const filled = 'fill big: stopped after some MiB: No space left on device\nrm big: ok\ncat hello.txt (10 bytes): hello tree\n';
    assert.equal(await run(COMPONENT, ['fill', 'big', 'cat', 'hello.txt']), filled);
    assert.equal(await run(MODULE, ['fill', 'big', 'cat', 'hello.txt']), filled, 'as a module does');
    assert.equal((await request(agent.url, 'GET', '/monitor/ping')).status, 200);
    assert.equal(await run(COMPONENT, ['ls', '/']), 'ls /: docs/ hello.txt link-to-hello@\n');
  });

  it('gives a component without files no preopened directory, as a module', async () => {
    const commands = ['preopens', 'ls', '/', 'cat', 'hello.txt', 'escape', '/etc/passwd', 'write', 'x.txt', 'y'];
    const transcript = await run(COMPONENT_NO_FILES, commands);
    assert.match(transcript, /^preopens: none\nls \/: .+\ncat hello\.txt: .+\nescape \/etc\/passwd: refused\nwrite x\.txt: (?!ok).+\n$/);
    await publish(JOB, '1.1.0', await fixture('tree.wasm'));
    assert.equal(transcript, await run('1.1.0', commands));
  });
});

describe('job runner: the raw WASI filesystem checks (wasi-fs.c) as a component', () => {
  let runner: JobRunner;
  before(() => {
    runner = new JobRunner({ limits: { timeoutMs: 10_000, memoryBytes: MEMORY_BYTES, outputBytes: 1024 * 1024 }, workers: 1 });
  });
  after(async () => {
    await runner.close();
  });

  it('passes them through the preview1 adapter, but for what WASI 0.2 cannot say', async () => {
    const job = { ...jobOf(() => fixture('wasi-fs.component.wasm'), 'wasi-fs.component'), files: imageOf([]) };
    const outcome = await runner.run(job);
    assert.equal(outcome.kind, 'exited');
    const lines = text(outcome.stdout).split('\n');
    // WASI 0.2 has no ENOTCAPABLE (the adapter says EPERM), no fd_allocate and no rights to drop.
    assert.deepEqual(
      lines.filter((line) => line.startsWith('FAIL ')),
      [
        'FAIL .. above the handle: got 63 want 76',
        'FAIL allocate: got 58 want 0',
        'FAIL allocate grew it: got 1 want 0',
        'FAIL drop the write right: got 58 want 0',
        'FAIL write without the right: got 0 want 8',
        'FAIL take the right back: got 58 want 76',
        'FAIL following a link out of the tree: got 63 want 76',
      ],
    );
    assert.ok(lines.filter((line) => line.startsWith('ok ')).length >= 90, text(outcome.stdout));
  });
});

/** Files under `dir` whose bytes contain `text`. */
async function filesContaining(dir: string, text: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    if ((await fs.readFile(file)).includes(text)) found.push(file);
  }
  return found;
}
