/**
 * The agent API contract (shared/agent-api.md), walked table by table: every route, method,
 * status, content type and header the document names, plus what a client of the original Rust
 * agent sends (no Content-Type, chunked bodies, `Expect: 100-continue`, query strings, trailing
 * slashes). Each test names the row of the document it checks.
 */
import * as assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as net from 'node:net';


import { contentFile, sriOf } from '../../src/agent/storage';
import type { AgentStatus, ExecutableInfo, RunningJob } from '../../src/api/contract';
import { manifestText, readAnswer, request, startTestAgent, storeJob, waitFor, type HttpAnswer, type TestAgent } from '../helpers/agent';
import { buildWat } from '../helpers/wat';

const MANIFESTS = '/v1/storage/manifests';
const TEXT_PLAIN = /^text\/plain(;|$)/;
const JSON_TYPE = /^application\/json(;|$)/;
const LIMITS = { timeoutMs: 1_500, memoryBytes: 16 * 1024 * 1024, outputBytes: 8 * 1024 };

const manifestPath = (fqName: string): string => `${MANIFESTS}/${fqName}`;
const executablePath = (fqName: string, version: string): string => `${MANIFESTS}/${fqName}/executable/${version}`;
const runPath = (fqName: string, query = ''): string => `/v1/jobs/${fqName}/run${query}`;

/** "Every error body is one line of plain text that says what was wrong and what to do." */
function assertErrorAnswer(answer: HttpAnswer, status: number, message?: RegExp): void {
  assert.equal(answer.status, status, `status of: ${answer.text}`);
  assert.match(String(answer.headers['content-type']), TEXT_PLAIN);
  const lines = answer.text.replace(/\n$/, '').split('\n');
  assert.equal(lines.length, 1, `one line: ${JSON.stringify(answer.text)}`);
  assert.ok(lines[0].length > 10, `says something: ${JSON.stringify(answer.text)}`);
  if (message) assert.match(answer.text, message);
}

/** "Every outcome carries `Serval-Job-Id` and `Serval-Duration-Ms`." */
function assertJobHeaders(answer: HttpAnswer): void {
  assert.ok(answer.headers['serval-job-id'], `Serval-Job-Id on ${answer.status}`);
  assert.match(String(answer.headers['serval-duration-ms']), /^\d+$/, `Serval-Duration-Ms on ${answer.status}`);
}

/** Exact bytes on a fresh socket; resolves with the whole raw response once the agent closes. */
function rawExchange(url: string, requestText: string | Buffer): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.end(requestText));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
  });
}

/** A request with `Expect: 100-continue` whose body is sent only once the agent said 100 Continue. */
function expectContinue(url: string, method: string, path: string, body: Uint8Array): Promise<HttpAnswer & { continued: boolean }> {
  return new Promise((resolve, reject) => {
    let continued = false;
    const req = http.request(new URL(path, url), {
      method,
      agent: false,
      headers: { expect: '100-continue', 'content-length': String(body.byteLength) },
    });
    req.on('continue', () => {
      continued = true;
      req.end(body);
    });
    req.on('response', (res) =>
      readAnswer(res).then((answer) => {
        resolve({ ...answer, continued });
        if (!continued) req.destroy();
      }, reject),
    );
    req.on('error', reject);
    req.flushHeaders();
  });
}

/** A body sent in two writes with `Transfer-Encoding: chunked`, as streaming clients do. */
function chunkedRequest(url: string, method: string, path: string, body: Uint8Array, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, url), { method, agent: false, headers }, (res) => readAnswer(res).then(resolve, reject));
    req.on('error', reject);
    const half = Math.floor(body.byteLength / 2);
    req.write(body.subarray(0, half));
    req.end(body.subarray(half));
  });
}

describe('agent API contract (agent-api.md, row by row)', () => {
  let agent: TestAgent;
  let hello: Uint8Array;
  let uppercase: Uint8Array;

  before(async () => {
    agent = await startTestAgent({ limits: LIMITS, maxBodyBytes: 256 * 1024 });
    hello = await buildWat('hello');
    uppercase = await buildWat('uppercase');
  });

  after(async () => {
    await agent.stop();
  });

  describe('Names', () => {
    it('makes the fully-qualified name from namespace and lower-cased name with - as _', async () => {
      const text = manifestText('Loud-ify', '1').replace('test.serval', 'sh.serval');
      const stored = await request(agent.url, 'POST', MANIFESTS, { body: text });
      assert.equal(stored.status, 201);
      assert.equal(stored.headers.location, '/v1/storage/manifests/sh.serval.loud_ify');
      assert.equal((await request(agent.url, 'GET', manifestPath('sh.serval.loud_ify'))).text, text);
      assert.equal((await request(agent.url, 'DELETE', manifestPath('sh.serval.loud_ify'))).status, 204);
    });

    it('refuses manifest fields that break the rules with 400 naming the field', async () => {
      const cases: Array<[string, RegExp]> = [
        [manifestText('a'.repeat(65), '1'), /name must be 1-64 characters/],
        [manifestText('bad.name', '1'), /name must be/],
        [manifestText('ok', '1').replace('test.serval', 'test..serval'), /namespace .*empty segment/],
        [manifestText('ok', '1').replace('test.serval', 'x'.repeat(129)), /namespace must be 1-128/],
        [manifestText('ok', '1/2'), /version must be 1-64 characters/],
        [manifestText('ok', 'v'.repeat(65)), /version must be/],
      ];
      for (const [body, message] of cases) {
        assertErrorAnswer(await request(agent.url, 'POST', MANIFESTS, { body }), 400, message);
      }
      assert.deepEqual(JSON.parse((await request(agent.url, 'GET', MANIFESTS)).text), []);
    });

    it('accepts every character the rules allow: version 1.0.0-rc.1+build_7, namespace segments with _ and -', async () => {
      const text = manifestText('Edge_Case-1', '1.0.0-rc.1+build_7').replace('test.serval', 'A-b.c_D.e9');
      const stored = await request(agent.url, 'POST', MANIFESTS, { body: text });
      assert.equal(stored.status, 201, stored.text);
      const fq = 'A-b.c_D.e9.edge_case_1';
      assert.equal(stored.headers.location, manifestPath(fq));
      const put = await request(agent.url, 'PUT', executablePath(fq, '1.0.0-rc.1+build_7'), { body: hello });
      assert.equal(put.status, 201, put.text);
      // `+` in a query is the version's own `+`: a version never holds a space.
      for (const query of ['?version=1.0.0-rc.1+build_7', '?version=1.0.0-rc.1%2Bbuild_7']) {
        assert.equal((await request(agent.url, 'POST', runPath(fq, query))).text, 'hello, world\n', query);
        assert.equal((await request(agent.url, 'GET', `${manifestPath(fq)}${query}`)).text, text, query);
      }
      assert.equal((await request(agent.url, 'DELETE', manifestPath(fq))).status, 204);
    });

    it('answers 400, never a lookup, to a path :name or :version that breaks the rules', async () => {
      const badNames = ['nodot', 'test.serval.Hello', 'test.serval.he-llo', 'test..hello', '.hello', 'test.serval.', 'test.serval.he%20llo', 'x'.repeat(130) + '.a'];
      for (const name of badNames) {
        for (const [method, path] of [
          ['GET', manifestPath(name)],
          ['HEAD', manifestPath(name)],
          ['DELETE', manifestPath(name)],
          ['GET', `${manifestPath(name)}/executables`],
          ['PUT', executablePath(name, '1')],
          ['GET', executablePath(name, '1')],
          ['DELETE', executablePath(name, '1')],
          ['POST', runPath(name)],
        ]) {
          const answer = await request(agent.url, method, path);
          if (method === 'HEAD') assert.equal(answer.status, 400, `${method} ${path}`);
          else assertErrorAnswer(answer, 400, /fully-qualified name|name must|namespace must/);
        }
      }
      for (const version of ['1%202', '1@2', '1%2F2', 'v'.repeat(65), '%C3%A9']) {
        for (const [method, path] of [
          ['PUT', executablePath('test.serval.hello', version)],
          ['GET', executablePath('test.serval.hello', version)],
          ['DELETE', executablePath('test.serval.hello', version)],
          ['POST', runPath('test.serval.hello', `?version=${version}`)],
          ['GET', `${manifestPath('test.serval.hello')}?version=${version}`],
        ]) {
          assertErrorAnswer(await request(agent.url, method, path), 400, /version must be/);
        }
      }
    });
  });

  describe('Manifest (TOML)', () => {
    afterEach(async () => {
      for (const name of JSON.parse((await request(agent.url, 'GET', MANIFESTS)).text) as string[]) {
        await request(agent.url, 'DELETE', manifestPath(name));
      }
    });

    it('accepts and keeps unknown keys, byte for byte', async () => {
      const text = manifestText('keeper', '1', 'homepage = "https://example.com"\n[extra]\nanswer = 42\n');
      assert.equal((await request(agent.url, 'POST', MANIFESTS, { body: text })).status, 201);
      const got = await request(agent.url, 'GET', manifestPath('test.serval.keeper'));
      assert.equal(got.text, text);
    });

    it('accepts the optional arrays and defaults them; refuses a wrong type naming the key', async () => {
      const withArrays = manifestText('arrays', '1', 'required_extensions = ["birdfeeder"]\nrequired_permissions = ["proc:read:*"]');
      assert.equal((await request(agent.url, 'POST', MANIFESTS, { body: withArrays })).status, 201);
      const wrong = manifestText('arrays', '2', 'required_permissions = "proc:read:*"');
      assertErrorAnswer(await request(agent.url, 'POST', MANIFESTS, { body: wrong }), 400, /required_permissions/);
    });

    it('refuses a manifest missing a required key, naming it', async () => {
      for (const key of ['name', 'namespace', 'version', 'binary', 'description']) {
        const body = manifestText('partial', '1')
          .split('\n')
          .filter((line) => !line.startsWith(`${key} `))
          .join('\n');
        assertErrorAnswer(await request(agent.url, 'POST', MANIFESTS, { body }), 400, new RegExp(key));
      }
    });

    it('refuses broken TOML with 400 naming the line and column', async () => {
      const cases = ['name = "x"\nnamespace = "a.b"\nversion = = 1\n', 'name = "unclosed\n', 'name = "x"\nname = "y"\n', '[[['];
      for (const body of cases) {
        assertErrorAnswer(await request(agent.url, 'POST', MANIFESTS, { body }), 400, /line \d+, column \d+/);
      }
      assertErrorAnswer(await request(agent.url, 'POST', MANIFESTS, { body: 'a\nb\nversion = = 1' }), 400, /line 1|line 3/);
    });

    it('refuses an empty body with 400 that says what is missing', async () => {
      assertErrorAnswer(await request(agent.url, 'POST', MANIFESTS, { body: '' }), 400);
    });
  });

  describe('GET /monitor/ping and /monitor/status', () => {
    it('GET /monitor/ping: 200 pong, text/plain; HEAD the same without a body; a query is ignored', async () => {
      for (const path of ['/monitor/ping', '/monitor/ping?from=probe']) {
        const ping = await request(agent.url, 'GET', path);
        assert.equal(ping.status, 200);
        assert.equal(ping.text, 'pong');
        assert.match(String(ping.headers['content-type']), TEXT_PLAIN);
      }
      const head = await request(agent.url, 'HEAD', '/monitor/ping');
      assert.equal(head.status, 200);
      assert.equal(head.body.byteLength, 0);
      assert.equal(head.headers['content-length'], '4');
    });

    it('GET /monitor/status: instance_id, version, uptime_s, storage {location, backend, damaged}, jobs {total, errors, running}, nothing else', async () => {
      const answer = await request(agent.url, 'GET', '/monitor/status');
      assert.equal(answer.status, 200);
      assert.match(String(answer.headers['content-type']), JSON_TYPE);
      const status = JSON.parse(answer.text) as AgentStatus;
      assert.deepEqual(Object.keys(status).sort(), ['instance_id', 'jobs', 'storage', 'uptime_s', 'version']);
      assert.equal(typeof status.instance_id, 'string');
      assert.ok(status.instance_id.length > 0);
      assert.equal(typeof status.version, 'string');
      assert.ok(Number.isInteger(status.uptime_s) && status.uptime_s >= 0);
      assert.deepEqual(Object.keys(status.storage).sort(), ['backend', 'damaged', 'location']);
      assert.equal(typeof status.storage.location, 'string');
      assert.equal(status.storage.backend, 'local');
      assert.deepEqual(status.storage.damaged, []);
      assert.deepEqual(Object.keys(status.jobs).sort(), ['errors', 'running', 'total']);
      for (const count of Object.values(status.jobs)) assert.ok(Number.isInteger(count) && count >= 0);
      // The same instance answers the same id.
      assert.equal((JSON.parse((await request(agent.url, 'GET', '/monitor/status')).text) as AgentStatus).instance_id, status.instance_id);
    });
  });

  describe('POST /v1/jobs/:name/run and GET /v1/jobs', () => {
    const FQ = 'test.serval';

    before(async () => {
      for (const fixture of ['hello', 'uppercase', 'exit-code', 'trap', 'spin', 'output-flood', 'no-start', 'unknown-import', 'big-initial-memory', 'no-memory']) {
        await storeJob(agent, fixture.replace(/-/g, '_'), '1', await buildWat(fixture));
      }
    });

    it('exit 0: 200 application/octet-stream, stdout, Serval-Exit-Code 0', async () => {
      const answer = await request(agent.url, 'POST', runPath(`${FQ}.hello`));
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['content-type'], 'application/octet-stream');
      assert.equal(answer.text, 'hello, world\n');
      assert.equal(answer.headers['serval-exit-code'], '0');
      assertJobHeaders(answer);
    });

    it('the body is stdin, any bytes, empty included; any Content-Type or none', async () => {
      const bytes = Buffer.from([0x61, 0x00, 0xff, 0x62, 0x0a]);
      const contentTypes: Array<Record<string, string>> = [
        {},
        { 'content-type': 'application/octet-stream' },
        { 'content-type': 'text/plain' },
        { 'content-type': 'application/x-www-form-urlencoded' },
      ];
      for (const headers of contentTypes) {
        const answer = await request(agent.url, 'POST', runPath(`${FQ}.uppercase`), { body: bytes, headers });
        assert.deepEqual(answer.body, Buffer.from([0x41, 0x00, 0xff, 0x42, 0x0a]));
      }
      assert.equal((await request(agent.url, 'POST', runPath(`${FQ}.uppercase`))).body.byteLength, 0);
      const chunked = await chunkedRequest(agent.url, 'POST', runPath(`${FQ}.uppercase`), Buffer.from('streamed in two chunks'));
      assert.equal(chunked.text, 'STREAMED IN TWO CHUNKS');
      const continued = await expectContinue(agent.url, 'POST', runPath(`${FQ}.uppercase`), Buffer.from('after 100'));
      assert.equal(continued.text, 'AFTER 100');
    });

    it('exit n ≠ 0: 200, stderr, Serval-Exit-Code n', async () => {
      const answer = await request(agent.url, 'POST', runPath(`${FQ}.exit_code`));
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['serval-exit-code'], '3');
      assert.equal(answer.text, 'something went wrong\n');
      assertJobHeaders(answer);
    });

    it('trap: 200, stderr then one line naming the trap, Serval-Trap', async () => {
      const answer = await request(agent.url, 'POST', runPath(`${FQ}.trap`));
      assert.equal(answer.status, 200);
      const trap = String(answer.headers['serval-trap']);
      assert.ok(trap.length > 0);
      const lines = answer.text.trimEnd().split('\n');
      assert.ok(lines[lines.length - 1].includes(trap));
      assertJobHeaders(answer);
    });

    it('output limit: 200, stdout up to the limit, Serval-Limit: output', async () => {
      const answer = await request(agent.url, 'POST', runPath(`${FQ}.output_flood`));
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['serval-limit'], 'output');
      assert.equal(answer.body.byteLength, LIMITS.outputBytes);
      assertJobHeaders(answer);
    });

    it('time limit: 504, one line stating the limit, Serval-Limit: time', async () => {
      const answer = await request(agent.url, 'POST', runPath(`${FQ}.spin`));
      assertErrorAnswer(answer, 504, new RegExp(`^job ran past its time limit of ${LIMITS.timeoutMs} ms$`, 'm'));
      assert.equal(answer.headers['serval-limit'], 'time');
      assertJobHeaders(answer);
    });

    it('not a runnable WASI command (no _start, no memory, unknown import, initial memory over the limit): 422', async () => {
      for (const name of ['no_start', 'no_memory', 'unknown_import', 'big_initial_memory']) {
        const answer = await request(agent.url, 'POST', runPath(`${FQ}.${name}`));
        assertErrorAnswer(answer, 422);
        assertJobHeaders(answer);
      }
    });

    it('404 no such manifest, 404 no executable for that version; both with the job headers', async () => {
      const noManifest = await request(agent.url, 'POST', runPath(`${FQ}.absent`));
      assertErrorAnswer(noManifest, 404, /no manifest named 'test.serval.absent'/);
      assertJobHeaders(noManifest);
      const noVersion = await request(agent.url, 'POST', runPath(`${FQ}.hello`, '?version=9'));
      assertErrorAnswer(noVersion, 404, /no executable for version '9'/);
      assertJobHeaders(noVersion);
      await request(agent.url, 'POST', MANIFESTS, { body: manifestText('hello', '2') });
      try {
        // Atomic publish: version 2 has no executable yet, so the default is still version 1.
        const stillOne = await request(agent.url, 'POST', runPath(`${FQ}.hello`));
        assert.equal(stillOne.status, 200);
        assertJobHeaders(stillOne);
      } finally {
        await request(agent.url, 'POST', MANIFESTS, { body: manifestText('hello', '1') });
      }
    });

    it('400 for a bad name or ?version=, with the job headers', async () => {
      for (const path of [runPath('nodot'), runPath(`${FQ}.hello`, '?version=a%20b')]) {
        const answer = await request(agent.url, 'POST', path);
        assertErrorAnswer(answer, 400);
        assertJobHeaders(answer);
      }
    });

    it('only POST: 405 with Allow: POST for GET, PUT, DELETE', async () => {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const answer = await request(agent.url, method, runPath(`${FQ}.hello`));
        assertErrorAnswer(answer, 405);
        assert.equal(answer.headers.allow, 'POST');
      }
    });

    it('runs ?version=V, else the version of the manifest stored last (not the highest)', async () => {
      await storeJob(agent, 'pick', '2', uppercase);
      await storeJob(agent, 'pick', '10', hello);
      assert.equal((await request(agent.url, 'POST', runPath(`${FQ}.pick`), { body: 'abc' })).text, 'hello, world\n');
      assert.equal((await request(agent.url, 'POST', runPath(`${FQ}.pick`, '?version=2'), { body: 'abc' })).text, 'ABC');
      await request(agent.url, 'POST', MANIFESTS, { body: manifestText('pick', '2') });
      assert.equal((await request(agent.url, 'POST', runPath(`${FQ}.pick`), { body: 'abc' })).text, 'ABC');
      // Other query parameters are ignored.
      assert.equal((await request(agent.url, 'POST', runPath(`${FQ}.pick`, '?trace=1&version=10'), { body: 'abc' })).text, 'hello, world\n');
    });

    it('GET /v1/jobs: [] when idle; {id, name, version, started_at} of a job that runs', async () => {
      const idle = await request(agent.url, 'GET', '/v1/jobs');
      assert.equal(idle.status, 200);
      assert.match(String(idle.headers['content-type']), JSON_TYPE);
      assert.deepEqual(JSON.parse(idle.text), []);

      const spinning = request(agent.url, 'POST', runPath(`${FQ}.spin`));
      let listed: RunningJob[] = [];
      await waitFor('the spinning job to be listed', async () => {
        listed = JSON.parse((await request(agent.url, 'GET', '/v1/jobs')).text) as RunningJob[];
        return listed.length === 1;
      });
      assert.deepEqual(Object.keys(listed[0]).sort(), ['id', 'name', 'started_at', 'version']);
      assert.equal(listed[0].name, 'test.serval.spin');
      assert.equal(listed[0].version, '1');
      assert.ok(!Number.isNaN(Date.parse(listed[0].started_at)));
      const status = JSON.parse((await request(agent.url, 'GET', '/monitor/status')).text) as AgentStatus;
      assert.equal(status.jobs.running, 1);

      const ended = await spinning;
      assert.equal(ended.status, 504);
      assert.equal(ended.headers['serval-job-id'], listed[0].id);
      assert.deepEqual(JSON.parse((await request(agent.url, 'GET', '/v1/jobs')).text), []);
    });
  });

  describe('/v1/storage/manifests', () => {
    const NAME = 'test.serval.store';

    const deleteAll = async (): Promise<void> => {
      for (const name of JSON.parse((await request(agent.url, 'GET', MANIFESTS)).text) as string[]) {
        await request(agent.url, 'DELETE', manifestPath(name));
      }
    };
    before(deleteAll);
    afterEach(deleteAll);

    it('GET: 200 JSON array of fully-qualified names, sorted', async () => {
      for (const name of ['zeta', 'Alpha', 'mid-dle', 'b']) {
        await request(agent.url, 'POST', MANIFESTS, { body: manifestText(name, '1') });
      }
      const answer = await request(agent.url, 'GET', MANIFESTS);
      assert.equal(answer.status, 200);
      assert.match(String(answer.headers['content-type']), JSON_TYPE);
      assert.deepEqual(JSON.parse(answer.text), ['test.serval.alpha', 'test.serval.b', 'test.serval.mid_dle', 'test.serval.zeta']);
    });

    it('POST: 201, SRI of the stored text as text/plain, Location', async () => {
      const text = manifestText('store', '1');
      const answer = await request(agent.url, 'POST', MANIFESTS, { body: text });
      assert.equal(answer.status, 201);
      assert.match(String(answer.headers['content-type']), TEXT_PLAIN);
      assert.equal(answer.text, sriOf(Buffer.from(text)));
      assert.equal(answer.headers.location, manifestPath(NAME));
    });

    it('POST takes the TOML whatever the Content-Type (none, octet-stream, toml, text), chunked or after 100-continue', async () => {
      const text = manifestText('store', '1');
      const contentTypes: Array<Record<string, string>> = [
        {},
        { 'content-type': 'application/octet-stream' },
        { 'content-type': 'application/toml' },
        { 'content-type': 'text/plain; charset=utf-8' },
      ];
      for (const headers of contentTypes) {
        const answer = await request(agent.url, 'POST', MANIFESTS, { body: text, headers });
        assert.equal(answer.status, 201, JSON.stringify(headers));
      }
      const chunked = await chunkedRequest(agent.url, 'POST', MANIFESTS, Buffer.from(manifestText('store', '2')));
      assert.equal(chunked.status, 201, chunked.text);
      const continued = await expectContinue(agent.url, 'POST', MANIFESTS, Buffer.from(manifestText('store', '3')));
      assert.equal(continued.status, 201, continued.text);
      assert.ok(continued.continued);
      assert.equal((await request(agent.url, 'GET', `${manifestPath(NAME)}?version=2`)).text, manifestText('store', '2'));
    });

    it('POST the same version again: 201 again, same integrity, listed once, executables kept', async () => {
      const text = manifestText('store', '1');
      const first = await request(agent.url, 'POST', MANIFESTS, { body: text });
      await request(agent.url, 'PUT', executablePath(NAME, '1'), { body: hello });
      const again = await request(agent.url, 'POST', MANIFESTS, { body: text });
      assert.equal(again.status, 201);
      assert.equal(again.text, first.text);
      assert.deepEqual(JSON.parse((await request(agent.url, 'GET', MANIFESTS)).text), [NAME]);
      assert.equal((await request(agent.url, 'GET', executablePath(NAME, '1'))).status, 200);
      // A changed text of the same version replaces it.
      const changed = manifestText('store', '1', '# edited');
      assert.equal((await request(agent.url, 'POST', MANIFESTS, { body: changed })).text, sriOf(Buffer.from(changed)));
      assert.equal((await request(agent.url, 'GET', manifestPath(NAME))).text, changed);
    });

    it('GET :name: 200 application/toml, the text as stored (CRLF, comments, BOM-less order kept); ?version=V; 404', async () => {
      const v1 = `# a comment\r\n${manifestText('store', '1').replace(/\n/g, '\r\n')}\r\n`;
      const v2 = `description = "first"\nname = "store"\nnamespace = "test.serval"\nversion = "2"\nbinary = "x.wasm"\n`;
      await request(agent.url, 'POST', MANIFESTS, { body: v1 });
      await request(agent.url, 'POST', MANIFESTS, { body: v2 });
      const latest = await request(agent.url, 'GET', manifestPath(NAME));
      assert.equal(latest.status, 200);
      assert.match(String(latest.headers['content-type']), /^application\/toml/);
      assert.equal(latest.text, v2);
      assert.equal((await request(agent.url, 'GET', `${manifestPath(NAME)}?version=1`)).text, v1);
      assertErrorAnswer(await request(agent.url, 'GET', `${manifestPath(NAME)}?version=7`), 404);
      assertErrorAnswer(await request(agent.url, 'GET', manifestPath('test.serval.absent')), 404);
    });

    it('HEAD :name: 200 or 404, no body; the headers GET would send', async () => {
      const text = manifestText('store', '1');
      const absent = await request(agent.url, 'HEAD', manifestPath(NAME));
      assert.equal(absent.status, 404);
      assert.equal(absent.body.byteLength, 0);
      await request(agent.url, 'POST', MANIFESTS, { body: text });
      const head = await request(agent.url, 'HEAD', manifestPath(NAME));
      assert.equal(head.status, 200);
      assert.equal(head.body.byteLength, 0);
      assert.match(String(head.headers['content-type']), /^application\/toml/);
      assert.equal(head.headers['content-length'], String(Buffer.byteLength(text)));
      assert.equal((await request(agent.url, 'HEAD', `${manifestPath(NAME)}?version=1`)).status, 200);
      assert.equal((await request(agent.url, 'HEAD', `${manifestPath(NAME)}?version=2`)).status, 404);
    });

    it('DELETE :name: 204; the manifest, every version and every executable are gone; then 404', async () => {
      await storeJob(agent, 'store', '1', hello);
      await storeJob(agent, 'store', '2', uppercase);
      const deleted = await request(agent.url, 'DELETE', manifestPath(NAME));
      assert.equal(deleted.status, 204);
      assert.equal(deleted.body.byteLength, 0);
      for (const [method, path] of [
        ['GET', manifestPath(NAME)],
        ['GET', `${manifestPath(NAME)}?version=1`],
        ['GET', `${manifestPath(NAME)}/executables`],
        ['GET', executablePath(NAME, '1')],
        ['GET', executablePath(NAME, '2')],
        ['POST', runPath(NAME)],
        ['POST', runPath(NAME, '?version=1')],
        ['DELETE', manifestPath(NAME)],
        ['DELETE', executablePath(NAME, '1')],
      ]) {
        assertErrorAnswer(await request(agent.url, method, path), 404);
      }
      assert.deepEqual(JSON.parse((await request(agent.url, 'GET', MANIFESTS)).text), []);
      // Stored again, it starts empty: no executable of the old one comes back.
      await request(agent.url, 'POST', MANIFESTS, { body: manifestText('store', '1') });
      assert.equal((await request(agent.url, 'GET', `${manifestPath(NAME)}/executables`)).text, '[]');
    });

    it('DELETE :name?version=V is refused (400): it would delete every version, not V', async () => {
      await storeJob(agent, 'store', '1', hello);
      assertErrorAnswer(await request(agent.url, 'DELETE', `${manifestPath(NAME)}?version=1`), 400, /executable\/<version>|every version/);
      assert.equal((await request(agent.url, 'GET', executablePath(NAME, '1'))).status, 200);
    });

    it('GET :name/executables: 200 JSON [{version, integrity, size, stored_at}] newest first; [] when none; 404', async () => {
      await request(agent.url, 'POST', MANIFESTS, { body: manifestText('store', '1') });
      assert.deepEqual(JSON.parse((await request(agent.url, 'GET', `${manifestPath(NAME)}/executables`)).text), []);
      await request(agent.url, 'PUT', executablePath(NAME, '2'), { body: uppercase });
      await request(agent.url, 'PUT', executablePath(NAME, '10'), { body: hello });
      await request(agent.url, 'PUT', executablePath(NAME, '1'), { body: hello });
      const answer = await request(agent.url, 'GET', `${manifestPath(NAME)}/executables`);
      assert.equal(answer.status, 200);
      assert.match(String(answer.headers['content-type']), JSON_TYPE);
      const listed = JSON.parse(answer.text) as ExecutableInfo[];
      assert.deepEqual(
        listed.map((e) => e.version),
        ['1', '10', '2'],
      );
      for (const entry of listed) {
        assert.deepEqual(Object.keys(entry).sort(), ['integrity', 'size', 'stored_at', 'version']);
        assert.match(entry.integrity, /^sha256-[A-Za-z0-9+/]+=*$/);
        assert.ok(Number.isInteger(entry.size));
        assert.equal(new Date(entry.stored_at).toISOString(), entry.stored_at);
      }
      assert.ok(listed[0].stored_at >= listed[1].stored_at && listed[1].stored_at >= listed[2].stored_at);
      assertErrorAnswer(await request(agent.url, 'GET', `${manifestPath('test.serval.absent')}/executables`), 404);
    });

    it('PUT :name/executable/:version: 201 with the SRI of the bytes as text/plain', async () => {
      await request(agent.url, 'POST', MANIFESTS, { body: manifestText('store', '1') });
      const answer = await request(agent.url, 'PUT', executablePath(NAME, '1'), { body: hello });
      assert.equal(answer.status, 201);
      assert.match(String(answer.headers['content-type']), TEXT_PLAIN);
      assert.equal(answer.text, sriOf(hello));
      assert.equal(answer.headers.location, executablePath(NAME, '1'));
      // Any Content-Type, chunked, after 100-continue, with a matching Serval-Integrity.
      const chunked = await chunkedRequest(agent.url, 'PUT', executablePath(NAME, '2'), hello, { 'serval-integrity': sriOf(hello) });
      assert.equal(chunked.status, 201, chunked.text);
      const continued = await expectContinue(agent.url, 'PUT', executablePath(NAME, '3'), hello);
      assert.equal(continued.status, 201, continued.text);
      const typed = await request(agent.url, 'PUT', executablePath(NAME, '4'), { body: hello, headers: { 'content-type': 'application/wasm' } });
      assert.equal(typed.status, 201);
    });

    it('PUT for a manifest that is not stored: 404, nothing stored', async () => {
      assertErrorAnswer(await request(agent.url, 'PUT', executablePath(NAME, '1'), { body: hello }), 404, /publish it first/);
      // With Expect: 100-continue the refusal comes before the upload: no 100 Continue.
      const early = await expectContinue(agent.url, 'PUT', executablePath(NAME, '1'), hello);
      assertErrorAnswer(early, 404);
      assert.equal(early.continued, false);
      assert.equal(early.headers.connection, 'close');
      await request(agent.url, 'POST', MANIFESTS, { body: manifestText('store', '1') });
      assert.equal((await request(agent.url, 'GET', `${manifestPath(NAME)}/executables`)).text, '[]');
    });

    it('PUT bytes that are not WebAssembly, or that fail Serval-Integrity: 400, nothing stored', async () => {
      await request(agent.url, 'POST', MANIFESTS, { body: manifestText('store', '1') });
      for (const body of [Buffer.from('not wasm at all'), Buffer.alloc(0), Buffer.from(hello).subarray(0, 20)]) {
        assertErrorAnswer(await request(agent.url, 'PUT', executablePath(NAME, '1'), { body }), 400, /WebAssembly/);
      }
      const mismatch = await request(agent.url, 'PUT', executablePath(NAME, '1'), { body: hello, headers: { 'serval-integrity': sriOf(uppercase) } });
      assertErrorAnswer(mismatch, 400, /integrity/);
      const malformed = await request(agent.url, 'PUT', executablePath(NAME, '1'), { body: hello, headers: { 'serval-integrity': 'md5-abc' } });
      assertErrorAnswer(malformed, 400, /Serval-Integrity/);
      assert.equal((await request(agent.url, 'GET', `${manifestPath(NAME)}/executables`)).text, '[]');
      const matching = await request(agent.url, 'PUT', executablePath(NAME, '1'), { body: hello, headers: { 'serval-integrity': sriOf(hello) } });
      assert.equal(matching.status, 201);
    });

    it('GET :name/executable/:version: 200 application/octet-stream, the bytes, Serval-Integrity; HEAD; 404', async () => {
      await storeJob(agent, 'store', '1', hello);
      const answer = await request(agent.url, 'GET', executablePath(NAME, '1'));
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['content-type'], 'application/octet-stream');
      assert.equal(answer.headers['serval-integrity'], sriOf(hello));
      assert.deepEqual(answer.body, Buffer.from(hello));
      const head = await request(agent.url, 'HEAD', executablePath(NAME, '1'));
      assert.equal(head.status, 200);
      assert.equal(head.body.byteLength, 0);
      assert.equal(head.headers['serval-integrity'], sriOf(hello));
      assert.equal(head.headers['content-length'], String(hello.byteLength));
      assertErrorAnswer(await request(agent.url, 'GET', executablePath(NAME, '2')), 404);
      assertErrorAnswer(await request(agent.url, 'GET', executablePath('test.serval.absent', '1')), 404);
    });

    it('DELETE :name/executable/:version: 204, that version only; then 404', async () => {
      await storeJob(agent, 'store', '1', hello);
      await request(agent.url, 'PUT', executablePath(NAME, '2'), { body: uppercase });
      const deleted = await request(agent.url, 'DELETE', executablePath(NAME, '1'));
      assert.equal(deleted.status, 204);
      assert.equal(deleted.body.byteLength, 0);
      assertErrorAnswer(await request(agent.url, 'GET', executablePath(NAME, '1')), 404);
      assertErrorAnswer(await request(agent.url, 'DELETE', executablePath(NAME, '1')), 404);
      assert.equal((await request(agent.url, 'GET', executablePath(NAME, '2'))).status, 200);
      assert.equal((await request(agent.url, 'GET', manifestPath(NAME))).status, 200);
    });

    it('answers 405 with Allow to methods a route does not have', async () => {
      const cases: Array<[string, string, string]> = [
        ['PUT', MANIFESTS, 'GET, POST, HEAD'],
        ['POST', manifestPath(NAME), 'GET, DELETE, HEAD'],
        ['POST', executablePath(NAME, '1'), 'GET, PUT, DELETE, HEAD'],
        ['POST', '/monitor/ping', 'GET, HEAD'],
        ['POST', '/v1/jobs', 'GET, HEAD'],
      ];
      for (const [method, path, allow] of cases) {
        const answer = await request(agent.url, method, path);
        assertErrorAnswer(answer, 405);
        assert.equal(answer.headers.allow, allow);
      }
    });

    it('tolerates a trailing slash and ignores unknown query parameters, as clients of the original do', async () => {
      await storeJob(agent, 'store', '1', hello);
      assert.deepEqual(JSON.parse((await request(agent.url, 'GET', `${MANIFESTS}/`)).text), [NAME]);
      assert.equal((await request(agent.url, 'GET', `${manifestPath(NAME)}/`)).status, 200);
      assert.equal((await request(agent.url, 'POST', `${runPath(NAME)}/`)).text, 'hello, world\n');
      assert.deepEqual(JSON.parse((await request(agent.url, 'GET', `${MANIFESTS}?limit=5`)).text), [NAME]);
      // ?version= means something only to GET/HEAD/DELETE :name and run; elsewhere it is ignored.
      assert.equal((await request(agent.url, 'GET', `${manifestPath(NAME)}/executables?version=a%20b`)).status, 200);
      assert.equal((await request(agent.url, 'GET', `${executablePath(NAME, '1')}?version=nope%2F`)).status, 200);
      assert.equal((await request(agent.url, 'GET', '/monitor/status?version=%')).status, 200);
      // A base URL ending in '/' joined to '/v1/…' (the original CLI's build_url does this).
      const joined = await rawExchange(agent.url, `GET /${MANIFESTS} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
      assert.match(joined, /^HTTP\/1\.1 200 [^]*\r\n\r\n\["test\.serval\.store"\]$/);
      assertErrorAnswer(await request(agent.url, 'GET', '/v2/anything'), 404, /there is no route/);
    });
  });

  describe('limits and damage', () => {
    it('413 for a manifest, an executable or a job input over the size limit, with job headers on the run', async () => {
      const small = await startTestAgent({ maxBodyBytes: 2048 });
      try {
        await storeJob(small, 'hello', '1', hello);
        const big = Buffer.alloc(4096, 0x20);
        assertErrorAnswer(await request(small.url, 'POST', MANIFESTS, { body: big }), 413);
        assertErrorAnswer(await request(small.url, 'PUT', executablePath('test.serval.hello', '2'), { body: big }), 413);
        const early = await expectContinue(small.url, 'PUT', executablePath('test.serval.hello', '2'), big);
        assertErrorAnswer(early, 413);
        assert.equal(early.continued, false);
        const run = await request(small.url, 'POST', runPath('test.serval.hello'), { body: big });
        assertErrorAnswer(run, 413, /limit of 2048 bytes/);
        assertJobHeaders(run);
        const chunked = await chunkedRequest(small.url, 'POST', runPath('test.serval.hello'), big);
        assertErrorAnswer(chunked, 413);
        assertJobHeaders(chunked);
        assert.equal((await request(small.url, 'POST', runPath('test.serval.hello'))).text, 'hello, world\n');
      } finally {
        await small.stop();
      }
    });

    it('500 with the job headers when the stored bytes fail their integrity check; never run, never served', async () => {
      const damaged = await startTestAgent();
      try {
        await storeJob(damaged, 'hello', '1', hello);
        const file = contentFile(damaged.storageDir, sriOf(hello));
        const bytes = await readFile(file);
        bytes[bytes.length - 1] ^= 0xff;
        await writeFile(file, bytes);
        const run = await request(damaged.url, 'POST', runPath('test.serval.hello'));
        assertErrorAnswer(run, 500, /integrity/);
        assertJobHeaders(run);
        assertErrorAnswer(await request(damaged.url, 'GET', executablePath('test.serval.hello', '1')), 500, /integrity/);
      } finally {
        await damaged.stop();
      }
    });
  });
});

describe('agent API contract: Security', () => {
  const TOKEN = 'contract-token-91ab';
  let agent: TestAgent;

  before(async () => {
    agent = await startTestAgent({ token: TOKEN, allowHosts: ['build-box.lan'] });
  });

  after(async () => {
    await agent.stop();
  });

  it('401 to every request but GET /monitor/ping without Authorization: Bearer <token>', async () => {
    const routes: Array<[string, string]> = [
      ['GET', '/monitor/status'],
      ['GET', '/v1/jobs'],
      ['POST', runPath('test.serval.hello')],
      ['GET', MANIFESTS],
      ['POST', MANIFESTS],
      ['GET', manifestPath('test.serval.hello')],
      ['DELETE', manifestPath('test.serval.hello')],
      ['GET', `${manifestPath('test.serval.hello')}/executables`],
      ['PUT', executablePath('test.serval.hello', '1')],
      ['GET', executablePath('test.serval.hello', '1')],
      ['DELETE', executablePath('test.serval.hello', '1')],
      ['GET', '/no/such/route'],
      ['POST', '/monitor/ping'],
    ];
    for (const [method, path] of routes) {
      for (const authorization of [undefined, 'Bearer wrong', `Basic ${TOKEN}`, TOKEN, `Bearer${TOKEN}`]) {
        const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
        assertErrorAnswer(await request(agent.url, method, path, { headers }), 401, /Authorization: Bearer/);
      }
    }
    const ping = await request(agent.url, 'GET', '/monitor/ping');
    assert.equal(ping.status, 200);
    assert.equal(ping.text, 'pong');
  });

  it('accepts the token, the Bearer scheme in any case', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const answer = await request(agent.url, 'GET', MANIFESTS, { headers: { authorization: `${scheme} ${TOKEN}` } });
      assert.equal(answer.status, 200, scheme);
    }
  });

  it('403 to a Host that is not the listen address, localhost or an allowed host; any port', async () => {
    const port = new URL(agent.url).port;
    const accepted = ['127.0.0.1', `127.0.0.1:${port}`, 'localhost', `localhost:${port}`, `LocalHost:${port}`, `[::1]:${port}`, 'build-box.lan:8100', 'BUILD-BOX.LAN'];
    for (const host of accepted) {
      assert.equal((await request(agent.url, 'GET', '/monitor/ping', { headers: { host } })).status, 200, host);
    }
    const refused = ['evil.example', `evil.example:${port}`, `127.0.0.1.evil.example:${port}`, `localhost.evil.example`, `build-box.lan.evil`, '10.0.0.1', `[::2]:${port}`];
    for (const host of refused) {
      for (const path of ['/monitor/ping', MANIFESTS]) {
        const answer = await request(agent.url, 'GET', path, { headers: { host }, token: TOKEN });
        assertErrorAnswer(answer, 403, /--allow-host/);
      }
    }
    // Without a Host header (HTTP/1.0 may leave it out; HTTP/1.1 must not): refused, saying why,
    // except a load balancer's HTTP/1.0 health check of /monitor/ping (haproxy's `option httpchk`).
    const ping10 = await rawExchange(agent.url, 'GET /monitor/ping HTTP/1.0\r\n\r\n');
    assert.match(ping10, /^HTTP\/1\.[01] 200 [^]*\r\n\r\npong$/);
    const ping11 = await rawExchange(agent.url, 'GET /monitor/ping HTTP/1.1\r\nConnection: close\r\n\r\n');
    assert.match(ping11, /^HTTP\/1\.[01] 403 [^]*\r\n\r\na request without a Host header is not accepted/);
    for (const version of ['1.0', '1.1']) {
      const raw = await rawExchange(agent.url, `GET ${MANIFESTS} HTTP/${version}\r\nConnection: close\r\n\r\n`);
      assert.match(raw, /^HTTP\/1\.[01] 403 [^]*\r\n\r\na request without a Host header is not accepted/, version);
    }
  });

  it('checks the authority of an absolute-form request target like a Host header', async () => {
    const port = new URL(agent.url).port;
    const accepted = await rawExchange(agent.url, `GET http://localhost:${port}/monitor/ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
    assert.match(accepted, /^HTTP\/1\.1 200 [^]*\r\n\r\npong$/);
    const refused = await rawExchange(agent.url, `GET http://evil.example/monitor/ping HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
    assert.match(refused, /^HTTP\/1\.1 403 /);
  });

  it('answers a request that is not HTTP with 400 and a one-line plain-text body, and stays up', async () => {
    const raw = await rawExchange(agent.url, 'HELLO THERE\r\n\r\n');
    assert.match(raw, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(raw, /Content-Type: text\/plain/i);
    assert.match(raw, /\r\n\r\nthe request is not valid HTTP\/1\.1 \([A-Z_]+\); check the client that sent it\n$/);
    const huge = await rawExchange(agent.url, `GET /monitor/ping HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    assert.match(huge, /^HTTP\/1\.1 431 [^]*\r\n\r\nthe request headers are larger/);
    assert.equal((await request(agent.url, 'GET', '/monitor/ping')).text, 'pong');
  });
});
