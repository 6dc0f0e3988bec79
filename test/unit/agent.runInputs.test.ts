/**
 * What a job gets besides stdin, through the HTTP API: argv (its name first), exactly the
 * environment of the run, manifest defaults, and a version's files archive preopened as `/`.
 * The job is a real C program (test/fixtures/wasi-programs/files.c) that prints what it sees.
 */
import * as assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';

import { writeTar, type TarEntry } from '../../src/files/tar';
import { sriOf } from '../../src/agent/storage';
import { manifestText, request, startTestAgent, type TestAgent } from '../helpers/agent';
import { WASI_PROGRAMS } from '../helpers/runnerJobs';

const NAME = 'test.serval.files';
const enc = new TextEncoder();
const TREE: TarEntry[] = [
  { kind: 'file', path: 'hello.txt', data: enc.encode('hello files'), mtimeMs: 0 },
  { kind: 'dir', path: 'sub', mtimeMs: 0 },
  { kind: 'file', path: 'sub/nested.txt', data: enc.encode('nested'), mtimeMs: 0 },
  { kind: 'symlink', path: 'link-to-hello', target: 'hello.txt', mtimeMs: 0 },
];

/** A raw ustar header block for hand-made hostile entries. */
function rawEntry(name: string, type: string, data = new Uint8Array(0), link = ''): Buffer {
  const tar = writeTar([{ kind: 'file', path: 'x', data, mtimeMs: 0 }]);
  const header = Buffer.from(tar.subarray(0, 512));
  header.fill(0, 0, 100).write(name, 0);
  header.write(type, 156);
  header.fill(0, 157, 257).write(link, 157);
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return Buffer.concat([header, tar.subarray(512, tar.length - 1024)]);
}
const END = Buffer.alloc(1024);

describe('a run gets arguments, environment and files (HTTP)', function () {
  this.timeout(30_000);
  let agent: TestAgent;
  const run = (query: string, version = '') =>
    request(agent.url, 'POST', `/v1/jobs/${NAME}/run?${version ? `version=${version}&` : ''}${query}`);
  const putFilesOf = (name: string, version: string, body: Uint8Array, type = 'application/x-tar') =>
    request(agent.url, 'PUT', `/v1/storage/manifests/${name}/files/${version}`, { body, headers: { 'content-type': type } });
  const putFiles = (version: string, body: Uint8Array, type = 'application/x-tar') => putFilesOf(NAME, version, body, type);

  async function store(version: string, extra = ''): Promise<void> {
    const manifest = await request(agent.url, 'POST', '/v1/storage/manifests', { body: manifestText('files', version, extra) });
    assert.equal(manifest.status, 201, manifest.text);
    const wasm = await readFile(path.join(WASI_PROGRAMS, 'files.wasm'));
    const put = await request(agent.url, 'PUT', `/v1/storage/manifests/${NAME}/executable/${version}`, { body: wasm });
    assert.equal(put.status, 201, put.text);
  }

  before(async () => {
    agent = await startTestAgent({ limits: { timeoutMs: 10_000, memoryBytes: 32 * 1024 * 1024, outputBytes: 1024 * 1024 } });
    await store('1.0.0');
  });
  after(() => agent.stop());

  it('gives argv[0] = the fully-qualified name, then ?arg= in order, percent-decoded UTF-8', async () => {
    const answer = await run(`arg=--no-files&arg=${encodeURIComponent('zwei Wörter & mehr')}&arg=`);
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.text, `argv[0]=${NAME}\nargv[1]=--no-files\nargv[2]=zwei Wörter & mehr\nargv[3]=\n`);
  });

  it('reads + as a space and %2B as a plus sign, as form-encoded queries (URLSearchParams) send them', async () => {
    const query = new URLSearchParams([['arg', '--no-files'], ['arg', 'the "second" arg'], ['arg', 'a+b'], ['env', 'B=escap " ing']]);
    const answer = await run(query.toString());
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.text, `argv[0]=${NAME}\nargv[1]=--no-files\nargv[2]=the "second" arg\nargv[3]=a+b\nenv B=escap " ing\n`);
  });

  it("gives exactly the ?env= entries, in order, and never the agent's environment", async () => {
    const answer = await run(`arg=--no-files&env=${encodeURIComponent('B=2=two')}&env=A%3D1&env=EMPTY%3D`);
    assert.equal(answer.text, `argv[0]=${NAME}\nargv[1]=--no-files\nenv B=2=two\nenv A=1\nenv EMPTY=\n`);
    assert.doesNotMatch(answer.text, /PATH=|HOME=/);
  });

  it('refuses a malformed env entry, bad encoding and too many or too large parameters with 400', async () => {
    for (const query of ['env=NOEQUALS', 'env=%3Dvalue', 'arg=%E0%A4', 'arg=%00', `${'arg=x&'.repeat(1025)}`, `arg=${"x".repeat(9_000)}`]) {
      const answer = await run(query);
      assert.equal(answer.status, 400, `${query.slice(0, 40)}: ${answer.text}`);
      assert.match(answer.text, /arg|env/);
    }
  });

  it("uses the manifest's args and [env] as defaults: run args replace, run env overrides per key", async () => {
    await store('2.0.0', 'args = ["--no-files", "from manifest"]\n[env]\nLEVEL = "info"\nKEEP = "kept"\n');
    const defaults = await run('', '2.0.0');
    assert.equal(defaults.text, `argv[0]=${NAME}\nargv[1]=--no-files\nargv[2]=from manifest\nenv LEVEL=info\nenv KEEP=kept\n`);
    const overridden = await run('arg=--no-files&env=LEVEL%3Ddebug&env=NEW%3D1', '2.0.0');
    assert.equal(overridden.text, `argv[0]=${NAME}\nargv[1]=--no-files\nenv LEVEL=debug\nenv KEEP=kept\nenv NEW=1\n`);
  });

  describe('files', () => {
    const archive = writeTar(TREE);

    before(async () => {
      await store('3.0.0');
    });

    it('stores a tar with 201 and its SRI, gives it back, and lists it with the executable', async () => {
      const put = await putFiles('3.0.0', archive);
      assert.equal(put.status, 201, put.text);
      assert.equal(put.text, sriOf(archive));
      const got = await request(agent.url, 'GET', `/v1/storage/manifests/${NAME}/files/3.0.0`);
      assert.equal(got.status, 200);
      assert.equal(got.headers['content-type'], 'application/x-tar');
      assert.deepEqual(got.body, archive);
      const list = JSON.parse((await request(agent.url, 'GET', `/v1/storage/manifests/${NAME}/executables`)).text) as Array<{ version: string; files?: unknown }>;
      assert.deepEqual(list.find((e) => e.version === '3.0.0')?.files, { integrity: sriOf(archive), size: archive.length });
      assert.equal(list.find((e) => e.version === '1.0.0')?.files, undefined);
    });

    it('preopens the tree as / for the run, writable in memory, and the next run sees it unchanged', async () => {
      const first = await run('', '3.0.0');
      assert.equal(first.status, 200, first.text);
      assert.match(first.text, /^list \/: hello\.txt link-to-hello sub\nread hello\.txt: hello files\nread \/sub\/nested\.txt: nested\nread link-to-hello: hello files\n/m);
      assert.match(first.text, /create new\.txt: ok\nread new\.txt: written by the job\n/);
      assert.match(first.text, /read new\.txt: WRITTEN\n/);
      assert.doesNotMatch(first.text, /: (?!ok)[A-Z][a-z]+ [a-z]/, 'every step ok');
      assert.match(first.text, /\npreopen 3 \/\npreopen 4 sub\n$/, '/ first, then each top-level folder by name');
      const second = await run('', '3.0.0');
      assert.equal(second.text, first.text, 'the first run left nothing behind');
    });

    it('passes every check of the raw WASI filesystem conformance program (wasi-fs.c)', async () => {
      const manifest = await request(agent.url, 'POST', '/v1/storage/manifests', { body: manifestText('wasi_fs', '1.0.0') });
      assert.equal(manifest.status, 201, manifest.text);
      const wasm = await readFile(path.join(WASI_PROGRAMS, 'wasi-fs.wasm'));
      const files = await putFilesOf('test.serval.wasi_fs', '1.0.0', writeTar([]));
      assert.equal(files.status, 201, files.text);
      assert.equal((await request(agent.url, 'PUT', '/v1/storage/manifests/test.serval.wasi_fs/executable/1.0.0', { body: wasm })).status, 201);
      const answer = await request(agent.url, 'POST', '/v1/jobs/test.serval.wasi_fs/run');
      assert.equal(answer.headers['serval-exit-code'], '0', answer.text);
      assert.doesNotMatch(answer.text, /FAIL/);
      assert.match(answer.text, /done: 0 failed\n$/);
      assert.ok(answer.text.split('\n').filter((line) => line.startsWith('ok ')).length >= 90);
    });

    it('takes a gzip-compressed tar too', async () => {
      await store('3.1.0');
      const put = await putFiles('3.1.0', gzipSync(archive), 'application/gzip');
      assert.equal(put.status, 201, put.text);
      assert.match((await run('', '3.1.0')).text, /read hello\.txt: hello files/);
    });

    it("takes the archive as curl sends it by default (no type, or form-urlencoded), and refuses a type that says it is something else (415)", async () => {
      await store('3.1.1');
      for (const type of ['application/x-www-form-urlencoded', 'application/octet-stream', 'application/x-gzip']) {
        const body = type === 'application/x-gzip' ? gzipSync(archive) : archive;
        assert.equal((await putFiles('3.1.1', body, type)).status, 201, type);
      }
      const json = await putFiles('3.1.1', archive, 'application/json');
      assert.equal(json.status, 415);
      assert.match(json.text, /Content-Type: application\/x-tar/);
    });

    it('deletes the files with their version', async () => {
      await store('3.2.0');
      assert.equal((await putFiles('3.2.0', archive)).status, 201);
      assert.equal((await request(agent.url, 'DELETE', `/v1/storage/manifests/${NAME}/executable/3.2.0`)).status, 204);
      assert.equal((await request(agent.url, 'GET', `/v1/storage/manifests/${NAME}/files/3.2.0`)).status, 404);
    });

    it('refuses files for a version that has neither a manifest nor an executable (404) and hostile archives (400)', async () => {
      assert.equal((await putFiles('9.9.9', archive)).status, 404);
      const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
      const many = writeTar(Array.from({ length: 10_001 }, (_, i) => ({ kind: 'dir' as const, path: `d${i}`, mtimeMs: 0 })));
      const hostile: Array<[string, Uint8Array]> = [
        ['absolute path', Buffer.concat([rawEntry('/etc/passwd', '0', enc.encode('x')), END])],
        ['..', Buffer.concat([rawEntry('a/../../escape', '0', enc.encode('x')), END])],
        ['symlink out', Buffer.concat([rawEntry('up', '2', new Uint8Array(0), '../../etc'), END])],
        ['absolute symlink', Buffer.concat([rawEntry('abs', '2', new Uint8Array(0), '/etc/passwd'), END])],
        ['device', Buffer.concat([rawEntry('dev', '3'), END])],
        ['hard link out', Buffer.concat([rawEntry('hl', '1', new Uint8Array(0), '../x'), END])],
        ['truncated', archive.subarray(0, 700)],
        ['not a tar', enc.encode('just some text that is not a tar archive at all'.repeat(20))],
        ['too many entries', many],
        ['gzip bomb', bomb],
      ];
      for (const [what, body] of hostile) {
        const answer = await putFiles('3.0.0', body);
        assert.equal(answer.status, 400, `${what}: ${answer.text}`);
        assert.match(answer.text, /^the files archive was refused: /, what);
      }
      const got = await request(agent.url, 'GET', `/v1/storage/manifests/${NAME}/files/3.0.0`);
      assert.equal(got.status, 200, got.text);
      assert.deepEqual(got.body, archive, 'a refused upload leaves the stored files alone');
    });
  });
});
